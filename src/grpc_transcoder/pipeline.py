"""The per-request pipeline: route, decode, call, encode, with the one error path around it.

Input: an `HttpRequest`. Output: a `Reply`. No exception escapes `transcode`.
"""

from __future__ import annotations

import logging

from grpc_transcoder import backend_call, request_decoding, response_encoding
from grpc_transcoder.errors import (
    Code,
    NoBackendError,
    TranscoderError,
    error_body,
    request_info_detail,
)
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.runtime import Runtime, Transcoder
from grpc_transcoder.settings import ErrorFormat

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0


def transcode(runtime: Runtime, request: HttpRequest) -> Reply:
    """Answer `request`; every failure becomes a JSON error reply."""
    google_format = False
    try:
        transcoder = runtime.current()
        google_format = transcoder.settings.error_format is ErrorFormat.GOOGLE
        return _transcode(runtime, transcoder, request)
    except TranscoderError as exc:
        return error_reply(exc, google_format=google_format)
    except Exception:
        logger.exception("unexpected error (request id %s)", request.request_id)
        internal = TranscoderError(
            f"internal error; quote request id {request.request_id}",
            code=Code.INTERNAL,
            details=[request_info_detail(request.request_id)],
        )
        return error_reply(internal, google_format=google_format)


def error_reply(error: TranscoderError, *, google_format: bool) -> Reply:
    """The only place an error becomes an HTTP response."""
    return Reply(error.status, error_body(error, google_format=google_format), error.headers)


def _transcode(runtime: Runtime, transcoder: Transcoder, request: HttpRequest) -> Reply:
    match = transcoder.routes.match(request.method, request.path)
    method = match.route.method
    message = transcoder.registry.message_class(method.input)()
    request_decoding.decode(
        match,
        message,
        query=request.query,
        body=request.body,
        content_type=request.content_type,
        codec=transcoder.codec,
    )
    target = transcoder.backends.resolve(method.service)
    if target is None:
        raise NoBackendError(f"no backend is configured for {method.service}")
    result = backend_call.call_unary(
        runtime.channels.get(target),
        method.grpc_path,
        message.SerializeToString(),
        timeout=_timeout(request),
    )
    return response_encoding.encode_unary(
        match.route, result.response, registry=transcoder.registry, codec=transcoder.codec
    )


def _timeout(request: HttpRequest) -> float:
    remaining = request.remaining_ms()
    if remaining is None:
        return DEFAULT_TIMEOUT_SECONDS
    return max(0.001, min(DEFAULT_TIMEOUT_SECONDS, (remaining - 500) / 1000))
