"""Raw calls: pass-through methods and calls, serialized messages in and out, untouched.

Input: a method (from the descriptors, or only its name) with its `CallSpec` and request
messages. Output: a `RawCall` that makes the call through `BackendCaller`, with the same
metadata, deadline, retry and status mapping as JSON calls, and the response hooks of the method.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from grpc_transcoder.calling.caller import BackendCaller, CallSpec, ResponseStream, UnaryResult
from grpc_transcoder.errors import TranscoderError
from grpc_transcoder.exchange import Metadata
from grpc_transcoder.hooks.table import HookRun
from grpc_transcoder.loading.registry import MethodInfo, Registry


@dataclass(frozen=True, slots=True)
class RawMethod:
    """A method absent from the descriptors, known only by name.

    It is called client- and server-streaming: on the wire every method type accepts that
    call (one request message for unary methods, answers of any count), so no cardinality
    needs to be known.
    """

    service: str
    name: str
    client_streaming: bool = True
    server_streaming: bool = True
    idempotent: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.service}/{self.name}"

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"


Method = MethodInfo | RawMethod


@dataclass(frozen=True, slots=True)
class RawCall:
    """One pass-through call, ready to be made, and the response hooks of its method."""

    caller: BackendCaller
    spec: CallSpec
    method: Method
    requests: Sequence[bytes]
    hooked: HookRun
    registry: Registry
    max_response_bytes: int

    @property
    def streams(self) -> bool:
        """Whether the answer is read as a stream (server-streaming or unknown methods)."""
        return self.method.server_streaming

    def unary(self) -> UnaryResult:
        return self.caller.unary(self.spec, self.requests)

    def stream(self) -> ResponseStream:
        return self.caller.stream(self.spec, self.requests)

    def response(self, data: bytes) -> bytes:
        """A response message through the response hooks (unchanged without any)."""
        method = self.method
        if not self.hooked or isinstance(method, RawMethod):
            return data
        return self.hooked.response_bytes(data, method.output)


def raw_metadata(error: TranscoderError) -> tuple[Metadata, Metadata]:
    """The initial and trailing metadata of the gRPC failure behind `error` (empty if none)."""
    cause = error.__cause__
    if not isinstance(cause, grpc.Call):
        return (), ()
    return tuple(cause.initial_metadata() or ()), tuple(cause.trailing_metadata() or ())


@contextmanager
def messages(stream: Iterable[bytes]) -> Iterator[Iterator[bytes]]:
    """The messages of `stream` (a ResponseStream); leaving the block early cancels the call."""
    iterator = iter(stream)
    try:
        yield iterator
    finally:
        close = getattr(iterator, "close", None)  # a generator: closing it cancels the call
        if close is not None:
            close()
