"""The per-request pipeline: route, decode, call, encode, with the one error path around it.

Input: an `HttpRequest`. Output: a `Reply`. No exception escapes `transcode`.
"""

from __future__ import annotations

import logging

from grpc_transcoder import access_log, backend_call, metrics, request_decoding, response_encoding
from grpc_transcoder.errors import (
    Code,
    NoBackendError,
    NotReadyError,
    TranscoderError,
    error_body,
    request_info_detail,
)
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.runtime import Runtime, Transcoder
from grpc_transcoder.settings import ErrorFormat, Settings

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0
ACCESS_LOG = access_log.AccessLog()


def transcode(runtime: Runtime, request: HttpRequest) -> Reply:
    """Answer `request`; every failure becomes a JSON error reply.

    Every request also writes one access log line and, unless TRANSCODER_METRICS is off, one
    metrics record.
    """
    log = access_log.RequestLog(request, cold_start=access_log.first_request(runtime))
    reply = _answer(runtime, request, log)
    _observe(log, reply)
    return reply


def _answer(runtime: Runtime, request: HttpRequest, log: access_log.RequestLog) -> Reply:
    google_format = False
    try:
        transcoder = runtime.current()
        log.loaded(transcoder)
        google_format = transcoder.settings.error_format is ErrorFormat.GOOGLE
        reserved = _reserved(runtime, transcoder, request, log)
        return reserved if reserved is not None else _transcode(runtime, transcoder, request, log)
    except NotReadyError as exc:
        log.failed(exc)
        return _not_ready(request, exc, log)
    except TranscoderError as exc:
        log.failed(exc)
        return error_reply(exc, google_format=google_format)
    except Exception:
        logger.exception("unexpected error (request id %s)", request.request_id)
        internal = TranscoderError(
            f"internal error; quote request id {request.request_id}",
            code=Code.INTERNAL,
            details=[request_info_detail(request.request_id)],
        )
        log.failed(internal)
        return error_reply(internal, google_format=google_format)


def _reserved(
    runtime: Runtime, transcoder: Transcoder, request: HttpRequest, log: access_log.RequestLog
) -> Reply | None:
    """The health report and the OpenAPI document, served before routing when configured.

    Their modules are imported on first use: most functions never serve them.
    """
    settings = transcoder.settings
    path = request.path.rstrip("/")
    if settings.health_path and path == settings.health_path.rstrip("/"):
        from grpc_transcoder import health  # noqa: PLC0415

        log.reserved(settings.health_path)
        return health.report(runtime, transcoder, request)
    if settings.openapi_path and path == settings.openapi_path.rstrip("/"):
        from grpc_transcoder import openapi  # noqa: PLC0415

        log.reserved(settings.openapi_path)
        return openapi.DOCUMENTS.reply(transcoder, request)
    return None


def _not_ready(request: HttpRequest, error: NotReadyError, log: access_log.RequestLog) -> Reply:
    """503 and why; at the health path (and GET), the health report says the same."""
    from grpc_transcoder import health  # noqa: PLC0415  needed only while not ready

    settings = log.settings = health.settings_while_not_ready()
    if health.is_health_request(request, settings.health_path):
        log.reserved(settings.health_path)
        return health.not_ready_report(request, error.message)
    return error_reply(error, google_format=settings.error_format is ErrorFormat.GOOGLE)


def _observe(log: access_log.RequestLog, reply: Reply) -> None:
    """Write the access log line and the metrics record; a failure here never fails the reply."""
    try:
        record = log.finish(reply)
        ACCESS_LOG.request(record)
        settings = log.settings or Settings()
        if settings.metrics:
            metrics.writer(settings.metrics_namespace).write(record)
    except Exception:
        logger.exception("could not write the access log or metrics of %s", log.request.request_id)


def error_reply(error: TranscoderError, *, google_format: bool) -> Reply:
    """The only place an error becomes an HTTP response."""
    return Reply(error.status, error_body(error, google_format=google_format), error.headers)


def _transcode(
    runtime: Runtime, transcoder: Transcoder, request: HttpRequest, log: access_log.RequestLog
) -> Reply:
    match = transcoder.routes.match(request.method, request.path)
    log.matched(match.route)
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
    log.lap()  # decoded
    target = transcoder.backends.resolve(method.service)
    if target is None:
        raise NoBackendError(f"no backend is configured for {method.service}")
    result = backend_call.call_unary(
        runtime.channels.get(target),
        method.grpc_path,
        message.SerializeToString(),
        timeout=_timeout(request),
    )
    log.lap()  # called
    return response_encoding.encode_unary(
        match.route, result.response, registry=transcoder.registry, codec=transcoder.codec
    )


def _timeout(request: HttpRequest) -> float:
    remaining = request.remaining_ms()
    if remaining is None:
        return DEFAULT_TIMEOUT_SECONDS
    return max(0.001, min(DEFAULT_TIMEOUT_SECONDS, (remaining - 500) / 1000))
