"""One hook for every method: calls need an Authorization header."""

from __future__ import annotations

from typing import Any

from grpc_transcoder.hooks import Code, HookCall, HookError, Hooks

hooks = Hooks()


@hooks.request("*")
def require_authorization(request: Any, call: HookCall) -> None:
    if "authorization" not in call.headers:
        raise HookError(Code.PERMISSION_DENIED, f"{call.method} needs an Authorization header")
