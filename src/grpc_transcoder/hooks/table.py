"""Hook table: the hooks of each gRPC method, resolved once, and their run on one call.

Input: the `hooks.Hooks` of the TRANSCODER_HOOKS module. Output: a `HookTable` whose `start`
gives a call its `HookRun`: request messages through the request hooks, response messages
through the response hooks, failures turned into answers (HookError: its code; anything else:
INTERNAL with the request id, logged with the hook's name).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message

from grpc_transcoder import hooks
from grpc_transcoder.errors import Code, RequestError, TranscoderError, internal_error
from grpc_transcoder.exchange import HttpRequest, Metadata
from grpc_transcoder.hooks import HookCall, NamedHook, Stage
from grpc_transcoder.hooks import patterns as hook_patterns

logger = logging.getLogger(__name__)

MAX_CACHED_METHODS = 1024


@dataclass(frozen=True, slots=True)
class MethodHooks:
    """The hooks of one method, in the order they run."""

    request: tuple[NamedHook, ...] = ()
    response: tuple[NamedHook, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.request or self.response)


class HookTable:
    """The hooks of every method, resolved on first use per method and then kept."""

    def __init__(self, registered: hooks.Hooks | None = None, *, source: str = "") -> None:
        self.source = source
        self._request = registered.request_hooks if registered else ()
        self._response = registered.response_hooks if registered else ()
        self._methods: dict[str, MethodHooks] = {}

    @classmethod
    def load(cls, module_name: str) -> HookTable:
        """The table of the TRANSCODER_HOOKS module; raises ConfigurationError (see hooks.load)."""
        return cls(hooks.load(module_name), source=module_name)

    def __bool__(self) -> bool:
        return bool(self._request or self._response)

    def cached(self) -> int:
        """How many methods' hooks are cached (at most MAX_CACHED_METHODS)."""
        return len(self._methods)

    def for_method(self, method: str) -> MethodHooks:
        """The hooks of `package.Service/Method`."""
        found = self._methods.get(method)
        if found is None:
            request = hook_patterns.ordered(self._request, method, key=_pattern)
            response = hook_patterns.ordered(self._response, method, key=_pattern)
            found = MethodHooks(request, tuple(reversed(response)))
            if len(self._methods) < MAX_CACHED_METHODS:  # pass-through: clients choose names
                self._methods[method] = found
        return found

    def start(self, method: str, request: HttpRequest) -> HookRun:
        """The hooks of `method`, ready to run on one call (NO_RUN when there are none)."""
        if not self:
            return NO_RUN
        found = self.for_method(method)
        return HookRun(found, HookCall.of(request, method)) if found else NO_RUN

    def unmatched(self, methods: Sequence[str]) -> list[str]:
        """Warnings for patterns that name no method among `methods` (package.Service/Method)."""
        patterns = sorted({hook.pattern for hook in (*self._request, *self._response)})
        return [
            f"TRANSCODER_HOOKS: {self.source}: pattern {pattern!r} matches no loaded method"
            for pattern in patterns
            if not any(hook_patterns.matches(pattern, method) for method in methods)
        ]


def _pattern(hook: NamedHook) -> str:
    return hook.pattern


class HookRun:
    """The hooks of one method applied to one call; a no-op without hooks."""

    def __init__(self, hooks: MethodHooks, call: HookCall | None) -> None:
        self.hooks = hooks
        self.call = call

    def __bool__(self) -> bool:
        return bool(self.hooks)

    @property
    def metadata(self) -> Metadata:
        """What the request hooks added, to send with the call."""
        return self.call.added_metadata if self.call else ()

    def request(self, message: Message) -> Message:
        return self._run(self.hooks.request, message, Stage.REQUEST)

    def response(self, message: Message) -> Message:
        return self._run(self.hooks.response, message, Stage.RESPONSE)

    def request_bytes(self, messages: Sequence[bytes], descriptor: Descriptor) -> list[bytes]:
        """Serialized request messages through the request hooks (unchanged without hooks)."""
        if not self.hooks.request:
            return list(messages)
        return [self.request(_parse(data, descriptor)).SerializeToString() for data in messages]

    def response_bytes(self, data: bytes, descriptor: Descriptor) -> bytes:
        """A serialized response message through the response hooks (unchanged without)."""
        if not self.hooks.response:
            return data
        return self.response(_parse(data, descriptor, response=True)).SerializeToString()

    def _run(self, hooks: Sequence[NamedHook], message: Message, stage: Stage) -> Message:
        if not hooks or self.call is None:
            return message
        call = self.call if stage is Stage.REQUEST else replace(self.call, stage=stage)
        for hook in hooks:
            message = _apply(hook, message, call)
        return message


NO_RUN = HookRun(MethodHooks(), None)


def _parse(data: bytes, descriptor: Descriptor, *, response: bool = False) -> Message:
    try:
        return message_factory.GetMessageClass(descriptor).FromString(data)
    except DecodeError as exc:
        name = descriptor.full_name
        if response:
            raise TranscoderError(
                f"the backend's answer is not a serialized {name}, so the response hooks"
                f" cannot read it ({exc})",
                code=Code.INTERNAL,
            ) from None
        raise RequestError(f"the request body is not a serialized {name} ({exc})") from None


def _apply(hook: NamedHook, message: Message, call: HookCall) -> Message:
    """One hook on one message; any failure but a TranscoderError answers INTERNAL."""
    try:
        result = hook.function(message, call)
    except TranscoderError as exc:
        logger.info(
            "%s hook %s answered %s for %s: %s",
            call.stage.value,
            hook.name,
            Code(exc.grpc_code).name,
            call.method,
            exc.message,
        )
        raise
    except Exception:
        logger.exception(
            "%s hook %s failed on %s (request id %s)",
            call.stage.value,
            hook.name,
            call.method,
            call.request_id,
        )
        raise _internal(call) from None
    return _checked(hook, message, result, call)


def _checked(hook: NamedHook, message: Message, result: Any, call: HookCall) -> Message:
    if result is None:
        return message
    expected = message.DESCRIPTOR.full_name
    if isinstance(result, Message) and result.DESCRIPTOR.full_name == expected:
        return result
    logger.error(
        "%s hook %s returned %r on %s where a %s or None is expected (request id %s)",
        call.stage.value,
        hook.name,
        type(result).__name__,
        call.method,
        expected,
        call.request_id,
    )
    raise _internal(call)


def _internal(call: HookCall) -> TranscoderError:
    return internal_error(call.request_id)
