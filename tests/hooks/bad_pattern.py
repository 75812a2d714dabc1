"""A hooks module that registers a hook under a pattern that names no method form."""

from __future__ import annotations

from typing import Any

from grpc_transcoder.hooks import HookCall, Hooks

hooks = Hooks()


@hooks.request("library.v1.LibraryService")  # a service alone: `.../*` was meant
def check(request: Any, call: HookCall) -> None:
    return None
