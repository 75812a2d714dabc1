"""Hooks: user code that inspects, changes or rejects messages on their way through.

Input: the module named by TRANSCODER_HOOKS, imported once at cold start; it holds
`hooks = Hooks()` and registers functions on it. Output: that `Hooks` object (`hooks.table`
resolves and runs its hooks per call). The public API is `Hooks`, `HookCall`, `HookError` and
`Code`::

    from grpc_transcoder.hooks import Code, HookCall, HookError, Hooks

    hooks = Hooks()

    @hooks.request("library.v1.LibraryService/CreateShelf")
    def check_theme(message, call: HookCall):
        if not message.shelf.theme:
            raise HookError(Code.INVALID_ARGUMENT, "a shelf needs a theme")
"""

from __future__ import annotations

import enum
import importlib
import logging
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from grpc_transcoder.calling.request_metadata import NEVER_FORWARDED, lookup
from grpc_transcoder.errors import (
    Code,
    ConfigurationError,
    FieldViolation,
    TranscoderError,
    bad_request_detail,
)
from grpc_transcoder.exchange import HttpRequest, Metadata
from grpc_transcoder.hooks import patterns as hook_patterns

__all__ = ["Code", "HookCall", "HookError", "Hooks"]

logger = logging.getLogger(__name__)

MODULE_ATTRIBUTE = "hooks"  # the name of the `Hooks()` object in the hooks module
Hook = Callable[[Any, "HookCall"], Any]
HookT = TypeVar("HookT", bound=Hook)

_KEY = re.compile(r"[0-9a-z_.\-]+")
_TEXT_VALUE = re.compile(r"[\x20-\x7e]*")


class HookError(TranscoderError):
    """Raise it in a hook to answer with `code` and `message` (a request hook: without calling).

    `violations` maps field paths to what is wrong with each; they travel as a
    google.rpc.BadRequest detail. The HTTP status follows the code (INVALID_ARGUMENT: 400,
    PERMISSION_DENIED: 403...). Any other exception from a hook answers INTERNAL.
    """

    def __init__(
        self, code: int, message: str, *, violations: Mapping[str, str] | None = None
    ) -> None:
        if not Code.CANCELLED <= code <= Code.UNAUTHENTICATED:
            raise ValueError(f"HookError needs a gRPC error code from 1 to 16, not {code!r}")
        found = [FieldViolation(path, text) for path, text in (violations or {}).items()]
        super().__init__(message, code=code, details=[bad_request_detail(found)] if found else [])
        self.violations = tuple(found)


class Stage(enum.Enum):
    """When a hook runs."""

    REQUEST = "request"  # after decoding, before the backend call
    RESPONSE = "response"  # after the call, before encoding (each message of a stream)


@dataclass(frozen=True, slots=True)
class HookCall:
    """What a hook knows about the call. Read-only, but for `add_metadata` in request hooks.

    `method` is `package.Service/Method`; `headers` have lower-case names; `authorizer` is
    what API Gateway's authorizer verified (`requestContext.authorizer`, `{}` without one).
    """

    method: str
    http_method: str
    path: str
    headers: Mapping[str, str]
    authorizer: Mapping[str, Any]
    request_id: str
    stage: Stage = Stage.REQUEST
    _added: list[tuple[str, str | bytes]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def of(cls, request: HttpRequest, method: str) -> HookCall:
        return cls(
            method,
            request.method,
            request.path,
            types.MappingProxyType(dict(request.headers)),  # a hook cannot change the request's
            types.MappingProxyType(dict(request.authorizer)),
            request.request_id,
        )

    @property
    def service(self) -> str:
        return self.method.partition("/")[0]

    def claim(self, path: str) -> Any:
        """The authorizer value at a dotted path (`jwt.claims.sub`, `lambda.tenant`), or None.

        Keys may hold dots themselves (`jwt.claims.https://example.com/roles`).
        """
        return lookup(self.authorizer, path)

    def add_metadata(self, key: str, value: str | bytes) -> None:
        """Send `key: value` to the backend with this call (request hooks only).

        Keys are lower-case (`[0-9a-z_.-]`, not `grpc-*`); text values are printable ASCII;
        bytes values need a key ending in `-bin`. Raises ValueError otherwise.
        """
        if self.stage is not Stage.REQUEST:
            raise ValueError("add_metadata: metadata can only be added by request hooks")
        _check_metadata(key, value)
        self._added.append((key, value))

    @property
    def added_metadata(self) -> Metadata:
        return tuple(self._added)


def _check_metadata(key: str, value: str | bytes) -> None:
    if _KEY.fullmatch(key) is None or key.startswith("grpc-") or key in NEVER_FORWARDED:
        raise ValueError(
            f"add_metadata: {key!r} cannot be a metadata key (lower-case a-z, 0-9, '-', '_',"
            " '.'; not grpc-*, host, content-type or a hop-by-hop header)"
        )
    if isinstance(value, bytes) != key.endswith("-bin"):
        raise ValueError(f"add_metadata: {key!r}: bytes values need a -bin key, and only they")
    if isinstance(value, str) and _TEXT_VALUE.fullmatch(value) is None:
        raise ValueError(f"add_metadata: {key!r}: text values must be printable ASCII")


@dataclass(frozen=True, slots=True)
class NamedHook:
    """A registered hook: the function, its pattern and a name for logs."""

    pattern: str
    function: Hook

    @property
    def name(self) -> str:
        function = self.function
        qualified = getattr(function, "__qualname__", repr(function))
        return f"{getattr(function, '__module__', '?')}.{qualified}"


class Hooks:
    """The hooks of a hooks module: create one as `hooks = Hooks()` and register on it.

    Patterns: `package.Service/Method`, `package.Service/*`, `package.*` (every service of a
    package and its sub-packages) or `*`. Every matching hook runs: request hooks from the
    most general pattern to the most specific, response hooks the other way round.
    """

    def __init__(self) -> None:
        self._request: list[NamedHook] = []
        self._response: list[NamedHook] = []

    def request(self, *patterns: str) -> Callable[[HookT], HookT]:
        """Register `hook(message, call)`, called with each decoded request message.

        It may change the message in place, return a replacement of the same type (None keeps
        the message), add metadata with `call.add_metadata`, or raise HookError.
        """
        return self._register(self._request, patterns)

    def response(self, *patterns: str) -> Callable[[HookT], HookT]:
        """Register `hook(message, call)`, called with each response message before encoding.

        It may change the message in place, return a replacement of the same type (None keeps
        the message), or raise HookError.
        """
        return self._register(self._response, patterns)

    def _register(
        self, hooks: list[NamedHook], patterns: Sequence[str]
    ) -> Callable[[HookT], HookT]:
        if not patterns:
            raise ValueError("name at least one method pattern, e.g. `*` for every method")
        for pattern in patterns:
            hook_patterns.check(pattern)

        def register(function: HookT) -> HookT:
            if not callable(function):
                raise TypeError(f"a hook must be a function, not {function!r}")
            hooks.extend(NamedHook(pattern, function) for pattern in patterns)
            return function

        return register

    @property
    def request_hooks(self) -> tuple[NamedHook, ...]:
        return tuple(self._request)

    @property
    def response_hooks(self) -> tuple[NamedHook, ...]:
        return tuple(self._response)


def load(module_name: str) -> Hooks | None:
    """The `Hooks` of the module TRANSCODER_HOOKS names (None for "").

    The module is imported once (later loads reuse it). Raises ConfigurationError when it
    cannot be imported or holds no `hooks = Hooks()`: the function then answers 503 saying why.
    """
    if not module_name:
        return None
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # anything the module does at import is a bad setting
        logger.error("TRANSCODER_HOOKS: importing %r failed", module_name, exc_info=True)
        raise ConfigurationError(
            f"TRANSCODER_HOOKS: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    found = getattr(module, MODULE_ATTRIBUTE, None)
    if not isinstance(found, Hooks):
        raise ConfigurationError(
            f"TRANSCODER_HOOKS: module {module_name!r} ({getattr(module, '__file__', '?')})"
            f" has no `{MODULE_ATTRIBUTE} = Hooks()` object (found {type(found).__name__})"
        )
    logger.info(
        "hooks from %s: %d request hooks, %d response hooks",
        module_name,
        len(found.request_hooks),
        len(found.response_hooks),
    )
    return found
