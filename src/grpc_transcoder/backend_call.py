"""Backend calls: send serialized request messages to the backend and collect the answer.

Input: a channel, the gRPC method path, request bytes, a timeout and metadata. Output: the
response bytes with the response metadata, or a BackendError carrying the gRPC status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from grpc_transcoder.errors import BackendError, Code

Metadata = Sequence[tuple[str, str | bytes]]


@dataclass(frozen=True, slots=True)
class UnaryResult:
    response: bytes
    initial_metadata: Metadata
    trailing_metadata: Metadata


def call_unary(
    channel: grpc.Channel,
    grpc_path: str,
    request: bytes,
    *,
    timeout: float,
    metadata: Metadata = (),
) -> UnaryResult:
    multicallable = channel.unary_unary(grpc_path)
    try:
        response, call = multicallable.with_call(request, timeout=timeout, metadata=metadata)
    except grpc.RpcError as exc:
        raise backend_error(exc) from None
    return UnaryResult(response, call.initial_metadata() or (), call.trailing_metadata() or ())


def backend_error(exc: grpc.RpcError) -> BackendError:
    """The BackendError of a failed call (status details are rendered by the caller)."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    number = code.value[0] if isinstance(code, grpc.StatusCode) else int(Code.UNKNOWN)
    return BackendError(details or code.name, code=number)
