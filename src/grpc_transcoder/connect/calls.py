"""Connect calls: a Connect request decoded, called at its backend and answered in its form.

Input: the State, an `HttpRequest` that `protocol.negotiate` found to be a Connect call, and its
`ConnectFormat`. Output: the answer in the call's codec: the message as the body for unary calls
and GETs (metadata as headers, trailers as `Trailer-<key>`), enveloped messages and the
end-of-stream message for streams. Failures raise TranscoderError, which the pipeline answers
through `error_body`, except those after a stream's first message, which end the stream in its
end-of-stream message. The methods, backends, metadata rules, deadlines, hooks and limits are
those of every other call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson
from google.protobuf.message import DecodeError, Message

from grpc_transcoder.calling.caller import CallSpec
from grpc_transcoder.connect import envelopes, error_body, metadata, protocol
from grpc_transcoder.connect.protocol import ConnectFormat, Form
from grpc_transcoder.decoding.field_values import decode_json
from grpc_transcoder.decoding.streams import check_count, in_stream
from grpc_transcoder.encoding.response_metadata import plain_headers
from grpc_transcoder.encoding.streams import ERROR_RESERVE_BYTES
from grpc_transcoder.errors import (
    Code,
    FieldViolation,
    MethodNotAllowedError,
    RequestError,
    TranscoderError,
    check_request_size,
    response_too_large,
)
from grpc_transcoder.exchange import HttpRequest, Metadata, Reply
from grpc_transcoder.hooks.table import HookRun
from grpc_transcoder.json import documents
from grpc_transcoder.loading.registry import MethodInfo
from grpc_transcoder.observe import access_log
from grpc_transcoder.passthrough.raw_calls import messages, raw_metadata

if TYPE_CHECKING:
    from grpc_transcoder.loading.state import State

logger = logging.getLogger(__name__)


def answer(
    state: State, request: HttpRequest, connect: ConnectFormat, log: access_log.RequestLog
) -> Reply:
    """Make the Connect call and answer it; raises TranscoderError for failures before it."""
    protocol.check(request, connect)
    method = _method(state, connect)
    log.route = connect.route
    log.grpc_method = method.full_name
    _check_form(method, connect)
    hooked = state.hooks.start(method.full_name, request)
    codec = _Messages(state, method, connect.codec, hooked)
    requests = codec.requests(_request_messages(state, request, connect, method))
    spec = state.calls.spec(
        method, request, http_method=request.method, added=hooked.metadata, connect=True
    )
    log.lap()  # decoded
    if connect.streaming:
        return _stream_reply(
            state,
            request,
            connect,
            method=method,
            spec=spec,
            requests=requests,
            codec=codec,
            log=log,
        )
    result = state.caller.unary(spec, requests)
    log.lap()  # called
    body = codec.response(result.response)
    limit = state.calls.max_response_bytes
    if len(body) > limit:
        raise response_too_large(limit, what=f"the response ({len(body)} bytes)")
    initial, trailing = result.initial_metadata, result.trailing_metadata
    headers = {**metadata.headers(initial), **metadata.trailer_headers(trailing)}
    plain, cookies = plain_headers(initial, trailing, state.serving.response_headers)
    headers.update(plain)
    return Reply(200, body, headers, connect.content_type, cookies)


def _method(state: State, connect: ConnectFormat) -> MethodInfo:
    """The method the call names; UNIMPLEMENTED for one outside the loaded descriptors."""
    found = state.registry.methods.get(f"/{connect.service}/{connect.method}")
    if found is not None:
        return found
    what = (
        f"{connect.service} has no method {connect.method} in the loaded descriptors"
        if connect.service in state.registry.services
        else f"{connect.service} is not in the loaded descriptors"
    )
    raise TranscoderError(what, code=Code.UNIMPLEMENTED)


def _check_form(method: MethodInfo, connect: ConnectFormat) -> None:
    """GET only for NO_SIDE_EFFECTS methods (405); streaming methods only as streams (415)."""
    if connect.form is Form.GET and not method.no_side_effects:
        raise MethodNotAllowedError(
            f"{method.full_name} is not marked idempotency_level = NO_SIDE_EFFECTS, so Connect"
            " GET cannot call it; send a POST",
            allow=("POST",),
        )
    if not connect.streaming and (method.client_streaming or method.server_streaming):
        kind = "client-streaming" if method.client_streaming else "server-streaming"
        raise RequestError(
            f"{method.full_name} is {kind}: call it as a Connect stream, with Content-Type"
            f" {protocol.STREAM_PREFIX}{connect.codec}",
            status=415,
            code=Code.UNIMPLEMENTED,
        )


def _request_messages(
    state: State, request: HttpRequest, connect: ConnectFormat, method: MethodInfo
) -> list[bytes]:
    """The request's messages as sent (one for unary calls and GETs), within the limits."""
    max_bytes = state.decoder.options.max_request_bytes
    if connect.form is Form.GET:
        return [protocol.get_message(request, max_bytes)]
    check_request_size(request.body, max_bytes)
    if connect.form is Form.UNARY:
        return [request.body]
    limit = state.decoder.options.max_stream_messages if method.client_streaming else 1
    found = envelopes.read(
        request.body,
        request.headers.get(protocol.STREAM_ENCODING_HEADER, ""),
        max_bytes=max_bytes,
        limit=limit,
    )
    if method.client_streaming:
        check_count(len(found), limit)
    elif len(found) != 1:
        holds = "none" if not found else "more than one"
        raise RequestError(
            f"{method.full_name} takes exactly one request message; the Connect stream holds"
            f" {holds}"
        )
    return found


class _Messages:
    """One call's messages in the Connect codec: requests in, responses out, through hooks."""

    __slots__ = ("_hooked", "_input", "_json", "_method", "_output", "_state")

    def __init__(self, state: State, method: MethodInfo, codec: str, hooked: HookRun) -> None:
        self._state = state
        self._method = method
        self._json = codec == protocol.JSON
        self._hooked = hooked
        registry = state.registry
        self._input = registry.message_class(method.input)
        self._output = registry.message_class(method.output)

    def requests(self, sent: Sequence[bytes]) -> list[bytes]:
        """Serialized request messages (protobuf ones unchanged unless hooks read them)."""
        if not self._json:
            return self._hooked.request_bytes(sent, self._method.input)
        many = len(sent) > 1 or self._method.client_streaming
        return [
            self._hooked.request(self._from_json(data, index if many else None)).SerializeToString()
            for index, data in enumerate(sent)
        ]

    def response(self, data: bytes) -> bytes:
        """A response message in the call's codec, through the response hooks."""
        if not self._json:
            return self._hooked.response_bytes(data, self._method.output)
        try:
            message = self._output.FromString(data)
        except DecodeError as exc:
            raise TranscoderError(
                f"the backend's {self._method.output.full_name} does not parse: {exc}",
                code=Code.INTERNAL,
            ) from None
        return self._state.codec.dumps(self._hooked.response(message))

    def _from_json(self, data: bytes, index: int | None) -> Message:
        message = self._input()
        where = "the body" if index is None else f"message {index + 1} of the stream"
        if not data.strip():
            return message  # an empty body is the empty message
        try:
            value = documents.loads(data)
        except (orjson.JSONDecodeError, documents.DuplicateKeyError) as exc:
            raise RequestError(
                f"{where} is not valid JSON: {exc}", violations=[FieldViolation("", str(exc))]
            ) from None
        if not isinstance(value, dict):
            raise RequestError(
                f"{where} must be a JSON object for {self._method.input.full_name}",
                violations=[FieldViolation("", "expected a JSON object")],
            )
        try:
            decode_json(self._state.codec, value, message)
        except RequestError as exc:
            raise exc if index is None else in_stream(exc, index, where) from None
        return message


def _stream_reply(
    state: State,
    request: HttpRequest,
    connect: ConnectFormat,
    *,
    method: MethodInfo,
    spec: CallSpec,
    requests: Sequence[bytes],
    codec: _Messages,
    log: access_log.RequestLog,
) -> Reply:
    """Every answer message enveloped (Lambda buffers the stream), the end-of-stream last.

    A failure at any point, before the first message included, ends the stream in its
    end-of-stream message, as the protocol has it.
    """
    accept = request.headers.get(protocol.STREAM_ACCEPT_ENCODING_HEADER, "")
    min_bytes = state.serving.compression_min_bytes if envelopes.accepts_gzip(accept) else 0
    writer = envelopes.Writer(min_bytes)
    limit = state.calls.max_response_bytes
    frames: list[bytes] = []
    size = 0
    initial: Metadata = ()
    trailing: Metadata = ()
    error: TranscoderError | None = None
    try:
        if not method.server_streaming:
            result = state.caller.unary(spec, requests)
            frame = writer.message(codec.response(result.response))
            if len(frame) + ERROR_RESERVE_BYTES > limit:
                raise response_too_large(limit, what=f"the response ({len(frame)} bytes)")
            frames.append(frame)
            initial, trailing = result.initial_metadata, result.trailing_metadata
        else:
            stream = state.caller.stream(spec, requests)
            with messages(stream) as iterator:  # leaving early cancels the call
                for data in iterator:
                    frame = writer.message(codec.response(data))
                    size += len(frame)
                    if size + ERROR_RESERVE_BYTES > limit:
                        what = f"the stream after {len(frames)} messages"
                        error = response_too_large(limit, what=what)
                        break
                    frames.append(frame)
            initial, trailing = stream.initial_metadata, stream.trailing_metadata
    except TranscoderError as exc:
        error = exc
    log.lap()  # called
    error_json = None
    if error is not None:
        log.failed(error)
        logger.warning(
            "Connect stream of %s ended after %d messages: %s",
            method.full_name,
            len(frames),
            error.message,
        )
        initial, trailing = raw_metadata(error)
        error_json = error_body.error_json(error, state.registry)
    frames.append(writer.end(error_json, metadata.end_stream_metadata(trailing)))
    headers = metadata.headers(initial)
    if writer.encoding:
        headers[protocol.STREAM_ENCODING_HEADER] = writer.encoding
    return Reply(200, b"".join(frames), headers, connect.content_type)
