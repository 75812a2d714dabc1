"""gRPC-Web replies: a pass-through call's answer, or any error, as one gRPC-Web response.

Input: a `raw_calls.RawCall` (or a TranscoderError) and the request's `grpc_web.WebFormat`.
Output: a `Reply` with HTTP 200, the backend's initial metadata as headers, the data frames and
the trailer frame last; errors travel in the trailer frame, as gRPC-Web clients expect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from grpc_transcoder.calling.status_details import DETAILS_KEY, status_from_error
from grpc_transcoder.encoding.response_metadata import HEADER_PREFIX, TRAILER_PREFIX
from grpc_transcoder.encoding.streams import ERROR_RESERVE_BYTES
from grpc_transcoder.errors import TranscoderError, response_too_large
from grpc_transcoder.exchange import Reply
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.observe import access_log
from grpc_transcoder.passthrough import grpc_web
from grpc_transcoder.passthrough.grpc_web import WebFormat
from grpc_transcoder.passthrough.raw_calls import RawCall, messages, raw_metadata

logger = logging.getLogger(__name__)

# Copied as JSON-style headers on errors of JSON calls; gRPC-Web relays the metadata itself.
_RELAYED_PREFIXES = (HEADER_PREFIX.lower(), TRAILER_PREFIX.lower())


def call_reply(call: RawCall, web: WebFormat, log: access_log.RequestLog) -> Reply:
    """Make the call and frame its answer; an error before any message raises it."""
    if call.streams:
        return _stream_reply(call, web, log)
    result = call.unary()
    log.lap()  # called
    frame = grpc_web.data_frame(call.response(result.response))
    limit = _budget(call.max_response_bytes, web)
    if len(frame) + ERROR_RESERVE_BYTES > limit:
        raise response_too_large(call.max_response_bytes, what=f"the response ({len(frame)} bytes)")
    trailer = grpc_web.trailer_frame(0, "", result.trailing_metadata)
    return _framed([frame, trailer], grpc_web.headers(result.initial_metadata), web)


def _stream_reply(call: RawCall, web: WebFormat, log: access_log.RequestLog) -> Reply:
    """Every message of the stream in one body (Lambda buffers it), the trailer frame last."""
    stream = call.stream()
    limit, size = _budget(call.max_response_bytes, web), 0
    frames: list[bytes] = []
    error: TranscoderError | None = None
    try:
        with messages(stream) as iterator:  # leaving early cancels the call
            for data in iterator:
                frame = grpc_web.data_frame(call.response(data))
                size += len(frame)
                if size + ERROR_RESERVE_BYTES > limit:
                    what = f"the stream after {len(frames)} messages"
                    error = response_too_large(call.max_response_bytes, what=what)
                    break
                frames.append(frame)
    except TranscoderError as exc:
        error = exc
    if error is None:
        trailer = grpc_web.trailer_frame(0, "", stream.trailing_metadata)
        return _framed([*frames, trailer], grpc_web.headers(stream.initial_metadata), web)
    if not frames:
        raise error
    log.failed(error)
    logger.warning(
        "stream of %s ended after %d messages: %s",
        call.method.full_name,
        len(frames),
        error.message,
    )
    return _error_frames(frames, error, web, call.registry)


def error_reply(web: WebFormat, error: TranscoderError, registry: Registry | None) -> Reply:
    """An error as gRPC-Web clients read it: HTTP 200 and a body of only the trailer frame.

    `registry` renders the error's details into grpc-status-details-bin when the backend's
    own are not at hand (None while the descriptors are not loaded: no details then).
    """
    return _error_frames([], error, web, registry)


def _error_frames(
    frames: list[bytes], error: TranscoderError, web: WebFormat, registry: Registry | None
) -> Reply:
    initial, trailing = raw_metadata(error)
    if error.details and registry is not None and all(k != DETAILS_KEY for k, _ in trailing):
        status = status_from_error(error, registry)
        if status is not None:
            trailing = (*trailing, (DETAILS_KEY, status.SerializeToString()))
    trailer = grpc_web.trailer_frame(error.grpc_code, error.message, trailing)
    headers = {**own_headers(error.headers), **grpc_web.headers(initial)}
    return _framed([*frames, trailer], headers, web)


def own_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The error's own headers (Retry-After, Allow, WWW-Authenticate), not the metadata copies."""
    return {k: v for k, v in headers.items() if not k.lower().startswith(_RELAYED_PREFIXES)}


def _budget(max_response_bytes: int, web: WebFormat) -> int:
    """Frame bytes that fit TRANSCODER_MAX_RESPONSE_BYTES once encoded (base64: 4 per 3)."""
    return max_response_bytes * 3 // 4 if web.response_text else max_response_bytes


def _framed(frames: list[bytes], headers: Mapping[str, str], web: WebFormat) -> Reply:
    body = grpc_web.body(frames, text=web.response_text)
    return Reply(200, body, headers, web.content_type)
