"""Hooks that fail in every way a hook can, and a few that do odd but legal things."""

from __future__ import annotations

from typing import Any

from grpc_transcoder.hooks import Code, HookCall, HookError, Hooks

hooks = Hooks()


@hooks.request("library.v1.DebugService/Ping")
def crash(request: Any, call: HookCall) -> None:
    raise RuntimeError("a bug in the hook")


@hooks.request("library.v1.DebugService/EchoKinds")
def wrong_type(request: Any, call: HookCall) -> Any:
    return "not a message"


@hooks.request("library.v1.DebugService/EchoMetadata")
def add_metadata(request: Any, call: HookCall) -> Any:
    call.add_metadata("x-added-by-hook", "yes")
    call.add_metadata("x-hook-bin", b"\x00\x01")
    replacement = type(request)()
    replacement.CopyFrom(request)
    replacement.response_headers["x-from-hook"] = call.method
    return replacement  # a replacement of the same type is sent instead


@hooks.response("library.v1.DebugService/Sleep")
def late_metadata(response: Any, call: HookCall) -> None:
    call.add_metadata("x-too-late", "yes")  # only request hooks may: a ValueError


@hooks.request("library.v1.DebugService/Chat")
def shout(message: Any, call: HookCall) -> None:
    message.text = message.text.upper()


@hooks.response("library.v1.DebugService/Stream")
def hide_item_two(item: Any, call: HookCall) -> None:
    if item.index == 2:
        raise HookError(Code.PERMISSION_DENIED, "item 2 is secret")
    item.payload = "seen by the hook"


@hooks.request("library.v1.DebugService/Fail")
def bad_metadata(request: Any, call: HookCall) -> None:
    call.add_metadata("Not A Key", "x")
