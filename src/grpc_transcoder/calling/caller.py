"""Backend calls: send serialized request messages to the backend and collect the answer.

Input: a `CallSpec` (target, method, deadline, metadata, idempotency) and the serialized
request messages. Output: the response bytes with the response metadata (unary and client
streaming) or a `ResponseStream` (server streaming and bidi); a failure raises a BackendError
carrying the gRPC status, its rendered details and the response metadata as headers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

from grpc_transcoder.calling.backends import Target
from grpc_transcoder.calling.channels import ChannelCache, ChannelOptions, Connection
from grpc_transcoder.calling.deadlines import Deadline
from grpc_transcoder.calling.status_details import StatusDecoder
from grpc_transcoder.encoding import response_metadata
from grpc_transcoder.errors import BackendError, TranscoderError, response_too_large
from grpc_transcoder.exchange import Metadata

logger = logging.getLogger(__name__)

# One first attempt and up to two retries of UNAVAILABLE, each on a fresh channel: enough
# for a connection that went stale while the Lambda was frozen, quick when the backend is down.
MAX_ATTEMPTS = 3
RETRY_DELAYS = (0.0, 0.1)  # seconds before the second and the third attempt
MIN_ATTEMPT_SECONDS = 0.01
# After these the connection may be dead (reset, black-holed): the next call opens a new one.
CONNECTION_FAILURES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
GRPC_DEADLINE_TEXT = "Deadline Exceeded"
TOO_LARGE = "Received message larger than max"
# What gRPC's own connection and resolution failures say (grpcio 1.85): addresses such as
# "ipv4:10.0.3.7:50051", resolver and socket texts.
_TRANSPORT_TEXT = re.compile(
    r"\b(?:ipv4|ipv6|unix|unix-abstract|vsock):|failed to connect|connection attempt"
    r"|resolv|lookup|dns|socket|connection (?:reset|refused|closed)|broken pipe|settings frame"
    r"|handshake|backends failing|subchannel|goaway|transport",
    re.IGNORECASE,
)


class CalledMethod(Protocol):
    """What a call needs of its method: a `descriptors.MethodInfo`, or a pass-through method
    known only by its name (`raw_calls.RawMethod`)."""

    @property
    def service(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def grpc_path(self) -> str: ...
    @property
    def client_streaming(self) -> bool: ...
    @property
    def idempotent(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Everything one call needs besides its request messages."""

    target: Target
    method: CalledMethod
    deadline: Deadline
    metadata: Metadata = ()
    idempotent: bool = False
    options: ChannelOptions = field(default_factory=ChannelOptions)


@dataclass(frozen=True, slots=True)
class UnaryResult:
    response: bytes
    initial_metadata: Metadata
    trailing_metadata: Metadata


class BackendCaller:
    """Makes calls through a channel cache, retrying UNAVAILABLE for idempotent calls."""

    def __init__(self, channels: ChannelCache, statuses: StatusDecoder) -> None:
        self._channels = channels
        self._statuses = statuses

    def unary(self, spec: CallSpec, requests: Sequence[bytes]) -> UnaryResult:
        """A unary or client-streaming call (`requests` holds one message for unary)."""
        attempt = 1
        channels = self._channels
        while True:
            started = time.monotonic()
            connection = channels.get(spec.target, spec.options)
            try:
                result = _unary_once(connection, spec, requests)
                connection.proven = True
                return result
            except grpc.RpcError as exc:
                self.after_failure(connection, spec, exc, attempt)
                failure = exc
            finally:
                connection.last_used = channels.now()
            if not self.retry(spec, failure, attempt, _timed_out(connection, started)):
                raise self.error(spec, failure)
            attempt += 1

    def stream(self, spec: CallSpec, requests: Sequence[bytes]) -> ResponseStream:
        """A server-streaming or bidi call; nothing is sent until the stream is iterated."""
        return ResponseStream(self, spec, requests)

    @property
    def channels(self) -> ChannelCache:
        return self._channels

    def after_failure(
        self, connection: Connection, spec: CallSpec, exc: grpc.RpcError, attempt: int
    ) -> None:
        code = _code(exc)
        if code in CONNECTION_FAILURES:
            self._channels.drop(connection, f"{code.name} calling {spec.method.full_name}")
            logger.warning(
                "%s from %s for %s (attempt %d, deadline %s): %s",
                code.name,
                spec.target,
                spec.method.full_name,
                attempt,
                spec.deadline.describe(),
                _details(exc),
            )

    def retry(
        self, spec: CallSpec, exc: grpc.RpcError, attempt: int, timed_out: bool = False
    ) -> bool:
        """Wait and return True when the failed attempt should be made again.

        `timed_out`: the attempt spent the connect timeout on a connection that never worked
        (a backend that accepts but never answers): another would only spend it again.
        """
        if not spec.idempotent or attempt >= MAX_ATTEMPTS or timed_out:
            return False
        if _code(exc) is not grpc.StatusCode.UNAVAILABLE:
            return False
        delay = RETRY_DELAYS[attempt - 1]
        if spec.deadline.remaining() - delay < MIN_ATTEMPT_SECONDS:
            return False
        time.sleep(delay)
        return True

    def error(self, spec: CallSpec, exc: grpc.RpcError) -> TranscoderError:
        """The error of a failed call: a BackendError with the rendered status details and the
        response metadata as headers, or the response-size error when gRPC refused a message.

        The gRPC failure stays the error's cause (`__cause__`), so that gRPC-Web answers can
        relay the backend's own trailers (grpc-status-details-bin included) unchanged.
        """
        error = self._error(spec, exc)
        error.__cause__ = exc
        return error

    def _error(self, spec: CallSpec, exc: grpc.RpcError) -> TranscoderError:
        code = _code(exc)
        if code is grpc.StatusCode.RESOURCE_EXHAUSTED and TOO_LARGE in _details(exc):
            # gRPC refused a message over the channel's limit (twice the response limit).
            logger.warning("%s: %s", spec.method.full_name, _details(exc))
            limit = spec.options.max_response_bytes
            return response_too_large(limit, what=f"a message of {spec.method.full_name}")
        initial, trailing = _metadata(exc, "initial_metadata"), _metadata(exc, "trailing_metadata")
        rich = self._statuses.decode(trailing)
        message = _message(spec, code, _details(exc) or (rich.message if rich else ""))
        headers = response_metadata.headers(initial, trailing)
        if code is grpc.StatusCode.UNAUTHENTICATED:
            headers["WWW-Authenticate"] = response_metadata.challenge(initial, trailing)
        details = rich.details if rich else ()
        return BackendError(message, code=code.value[0], details=details, headers=headers)


def _unary_once(connection: Connection, spec: CallSpec, requests: Sequence[bytes]) -> UnaryResult:
    method = spec.method
    multicallable = connection.multicallable(
        method.grpc_path, client_streaming=method.client_streaming, server_streaming=False
    )
    request: Any = iter(requests) if method.client_streaming else requests[0]
    timeout = max(spec.deadline.remaining(), MIN_ATTEMPT_SECONDS)
    response, call = multicallable.with_call(request, timeout=timeout, metadata=spec.metadata)
    return UnaryResult(
        response, tuple(call.initial_metadata() or ()), tuple(call.trailing_metadata() or ())
    )


class ResponseStream:
    """The messages of a server-streaming call, then its metadata.

    Iterating sends the call; UNAVAILABLE before the first message is retried like a unary
    call. A failure raises BackendError from the iteration. Closing the iterator early
    cancels the call.
    """

    def __init__(self, caller: BackendCaller, spec: CallSpec, requests: Sequence[bytes]) -> None:
        self._caller = caller
        self._spec = spec
        self._requests = requests
        self.initial_metadata: Metadata = ()
        self.trailing_metadata: Metadata = ()

    def __iter__(self) -> Iterator[bytes]:
        attempt = 1
        while True:
            received = 0
            started = time.monotonic()
            with self._caller.channels.lease(self._spec.target, self._spec.options) as connection:
                call = self._start(connection)
                try:
                    for message in call:
                        received += 1
                        connection.proven = True
                        yield message
                    self._finish(call)
                    connection.proven = True
                    return
                except grpc.RpcError as exc:
                    self._caller.after_failure(connection, self._spec, exc, attempt)
                    failure = exc
                finally:
                    call.cancel()  # a no-op once the call is over; stops it if the reader quit
            timed_out = _timed_out(connection, started)
            if received or not self._caller.retry(self._spec, failure, attempt, timed_out):
                raise self._caller.error(self._spec, failure)
            attempt += 1

    def _start(self, connection: Connection) -> Any:
        method = self._spec.method
        multicallable = connection.multicallable(
            method.grpc_path, client_streaming=method.client_streaming, server_streaming=True
        )
        request: Any = iter(self._requests) if method.client_streaming else self._requests[0]
        timeout = max(self._spec.deadline.remaining(), MIN_ATTEMPT_SECONDS)
        return multicallable(request, timeout=timeout, metadata=self._spec.metadata)

    def _finish(self, call: Any) -> None:
        self.initial_metadata = tuple(call.initial_metadata() or ())
        self.trailing_metadata = tuple(call.trailing_metadata() or ())


def _code(exc: grpc.RpcError) -> grpc.StatusCode:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _details(exc: grpc.RpcError) -> str:
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    return str(details or "")


def _metadata(exc: grpc.RpcError, which: str) -> Metadata:
    if not isinstance(exc, grpc.Call):
        return ()
    return tuple(getattr(exc, which)() or ())


def _timed_out(connection: Connection, started: float) -> bool:
    """Whether an attempt on a connection that never worked lasted the connect timeout."""
    elapsed_ms = (time.monotonic() - started) * 1000
    return not connection.proven and elapsed_ms >= connection.options.connect_timeout_ms


def _message(spec: CallSpec, code: grpc.StatusCode, details: str) -> str:
    """The caller's message: the backend's own, with gRPC's transport texts made useful.

    An UNAVAILABLE that gRPC itself reports (a connection or name resolution failure) names
    hosts, addresses and resolvers: the caller gets the service and the TRANSCODER_BACKENDS
    pattern of its backend instead (the log keeps the details). A backend's own UNAVAILABLE
    message ("down for maintenance") reaches the caller as it is.
    """
    if code is grpc.StatusCode.DEADLINE_EXCEEDED and details in ("", GRPC_DEADLINE_TEXT):
        return (
            f"{spec.method.full_name} did not answer within its deadline"
            f" ({spec.deadline.describe()})"
        )
    if code is grpc.StatusCode.UNAVAILABLE and (not details or _transport_text(details, spec)):
        return unavailable_message(spec.method.service, spec.target)
    return details or code.name


def _transport_text(details: str, spec: CallSpec) -> bool:
    """Whether an UNAVAILABLE text is gRPC's own report of the connection (not the backend's
    message): it names the target's host, an address, a resolver, or a transport failure."""
    host = spec.target.address.rpartition(":")[0].strip("[]")
    return bool(host and host in details) or _TRANSPORT_TEXT.search(details) is not None


def unavailable_message(service: str, target: Target) -> str:
    """What callers are told when the backend of `service` cannot be reached."""
    return f"the backend of {service} is unavailable (TRANSCODER_BACKENDS {target.pattern!r})"
