"""The per-request pipeline: route, decode, call, encode, with the one error path around it.

Input: an `HttpRequest`. Output: a `Reply`. No exception escapes `transcode`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from google.protobuf.message import Message

from grpc_transcoder.calling import deadlines
from grpc_transcoder.calling.caller import BackendCaller, CallSpec, Metadata, ResponseStream
from grpc_transcoder.calling.status_details import StatusDecoder
from grpc_transcoder.decoding import request as request_decoding
from grpc_transcoder.decoding import streams as stream_decoding
from grpc_transcoder.encoding import response_metadata
from grpc_transcoder.encoding import streams as stream_encoding
from grpc_transcoder.encoding import unary as response_encoding
from grpc_transcoder.encoding.streams import StreamEncoder
from grpc_transcoder.errors import (
    Code,
    NotReadyError,
    TranscoderError,
    error_body,
    request_info_detail,
)
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.hooks.table import HookRun
from grpc_transcoder.loading.runtime import Runtime, Transcoder
from grpc_transcoder.observe import access_log, metrics
from grpc_transcoder.passthrough import forward as passthrough
from grpc_transcoder.passthrough import grpc_web_reply
from grpc_transcoder.routing.table import Match
from grpc_transcoder.settings import ErrorFormat, Settings

logger = logging.getLogger(__name__)


ACCESS_LOG = access_log.AccessLog()


def transcode(
    runtime: Runtime, request: HttpRequest, *, refused: TranscoderError | None = None
) -> Reply:
    """Answer `request`; every failure becomes a JSON error reply.

    `refused` is the error of a request the edge could not read (answered as it is, through
    the same error path and log). Every request also writes one access log line and, unless
    TRANSCODER_METRICS is off, one metrics record.
    """
    log = access_log.RequestLog(request, cold_start=access_log.first_request(runtime))
    reply = _answer(runtime, request, log, refused)
    _observe(log, reply)
    return reply


def _answer(
    runtime: Runtime,
    request: HttpRequest,
    log: access_log.RequestLog,
    refused: TranscoderError | None,
) -> Reply:
    google_format = False
    transcoder: Transcoder | None = None
    try:
        transcoder = runtime.current()
        log.loaded(transcoder)
        google_format = transcoder.settings.error_format is ErrorFormat.GOOGLE
        if refused is not None:
            raise refused
        reserved = _reserved(runtime, transcoder, request, log)
        if reserved is not None:
            return reserved
        passed = passthrough.answer(runtime, transcoder, request, log)
        return passed if passed is not None else _transcode(runtime, transcoder, request, log)
    except NotReadyError as exc:
        log.failed(exc)
        return _not_ready(request, exc, log)
    except TranscoderError as exc:
        log.failed(exc)
        return _error_reply(request, exc, google_format, transcoder)
    except Exception:
        logger.exception("unexpected error (request id %s)", request.request_id)
        internal = TranscoderError(
            f"internal error; quote request id {request.request_id}",
            code=Code.INTERNAL,
            details=[request_info_detail(request.request_id)],
        )
        log.failed(internal)
        return _error_reply(request, internal, google_format, transcoder)


def _reserved(
    runtime: Runtime, transcoder: Transcoder, request: HttpRequest, log: access_log.RequestLog
) -> Reply | None:
    """The health report and the OpenAPI document, served before routing when configured.

    Their modules are imported on first use: most functions never serve them.
    """
    settings = transcoder.settings
    path = request.path.rstrip("/")
    if settings.health_path and path == settings.health_path.rstrip("/"):
        from grpc_transcoder.reserved import health  # noqa: PLC0415

        log.reserved(settings.health_path)
        return health.report(runtime, transcoder, request)
    if settings.openapi_path and path == settings.openapi_path.rstrip("/"):
        from grpc_transcoder.reserved.openapi import document as openapi  # noqa: PLC0415

        log.reserved(settings.openapi_path)
        return openapi.DOCUMENTS.reply(transcoder, request)
    return None


def _not_ready(request: HttpRequest, error: NotReadyError, log: access_log.RequestLog) -> Reply:
    """503 and why; at the health path (and GET), the health report says the same."""
    from grpc_transcoder.reserved import health  # noqa: PLC0415  needed only while not ready

    settings = log.settings = health.settings_while_not_ready()
    if health.is_health_request(request, settings.health_path):
        log.reserved(settings.health_path)
        return health.not_ready_report(request, error.message)
    return _error_reply(request, error, settings.error_format is ErrorFormat.GOOGLE, None)


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
    """The only place an error becomes an HTTP response (gRPC-Web: see `_error_reply`)."""
    return Reply(error.status, error_body(error, google_format=google_format), error.headers)


def _error_reply(
    request: HttpRequest, error: TranscoderError, google_format: bool, loaded: Transcoder | None
) -> Reply:
    """gRPC-Web clients read every error from a trailer frame (HTTP 200); others get JSON."""
    web = grpc_web_reply.web_format(request)
    if web is None:
        return error_reply(error, google_format=google_format)
    return grpc_web_reply.error_reply(web, error, loaded.registry if loaded else None)


def _transcode(
    runtime: Runtime, transcoder: Transcoder, request: HttpRequest, log: access_log.RequestLog
) -> Reply:
    match = transcoder.routes.match(request.method, request.path)
    log.matched(match.route)
    method = match.route.method
    decoder = request_decoding.decoder_for(transcoder.settings, transcoder.codec)
    hooked = transcoder.hooks.start(method.full_name, request)  # a no-op without hooks
    if method.client_streaming:
        requests = stream_decoding.decode(
            match, request, decoder=decoder, registry=transcoder.registry
        )
        requests = hooked.request_bytes(requests, method.input)
    else:
        message = transcoder.registry.message_class(method.input)()
        decoder.decode(match, request, message)
        requests = [hooked.request(message).SerializeToString()]
    spec = _call_spec(transcoder, request, match, hooked.metadata)
    log.lap()  # decoded; a server stream's backend time includes its encoding
    caller = BackendCaller(runtime.channels, StatusDecoder(transcoder.registry, transcoder.codec))
    if method.server_streaming:
        return _stream_reply(transcoder, request, match, caller.stream(spec, requests), hooked)
    result = caller.unary(spec, requests)
    log.lap()  # called
    reply = response_encoding.encode_unary(
        match.route,
        hooked.response_bytes(result.response, method.output),
        registry=transcoder.registry,
        codec=transcoder.codec,
    )
    return _with_metadata(reply, result.initial_metadata, result.trailing_metadata, transcoder)


def _call_spec(
    transcoder: Transcoder, request: HttpRequest, match: Match, added: Metadata = ()
) -> CallSpec:
    """Where and how to call: the backend, deadline, metadata and retry policy of the route.

    `added` is the metadata the request hooks added, sent after the request's own.
    """
    method, policy = match.route.method, transcoder.calls
    target = transcoder.backends.require(method.service)
    deadline = policy.deadlines.deadline(
        method.service,
        header=request.headers.get(deadlines.TIMEOUT_HEADER),
        remaining_ms=request.remaining_ms(),
    )
    return CallSpec(
        target,
        method,
        deadline,
        metadata=policy.metadata.request_metadata(request) + added,
        idempotent=policy.idempotent(match.route),
        options=policy.channels,
    )


def _with_metadata(
    reply: Reply, initial: Metadata, trailing: Metadata, transcoder: Transcoder
) -> Reply:
    """The reply with the backend's metadata as headers and its `x-http-code` status."""
    limit = transcoder.calls.max_response_bytes
    if len(reply.body) > limit:
        raise stream_encoding.response_too_large(
            limit, what=f"the response ({len(reply.body)} bytes)"
        )
    headers = {**reply.headers, **response_metadata.headers(initial, trailing)}
    status = response_metadata.http_status(initial, trailing) if reply.status == 200 else None
    if status is None:
        return replace(reply, headers=headers)
    return replace(reply, status=status, headers=headers, body=b"" if status == 204 else reply.body)


def _stream_reply(
    transcoder: Transcoder,
    request: HttpRequest,
    match: Match,
    stream: ResponseStream,
    hooked: HookRun,
) -> Reply:
    """A server stream framed as the Accept header asks; errors after the first message end it.

    Each message goes through the response hooks; a hook's error ends the stream like a
    backend error.
    """
    google_format = transcoder.settings.error_format is ErrorFormat.GOOGLE
    message_class = transcoder.registry.message_class(match.route.method.output)
    encoder = StreamEncoder(
        stream_encoding.negotiate(request.headers.get("accept", "")),
        to_json=lambda data: _json_of(
            transcoder, match, hooked.response(message_class.FromString(data))
        ),
        error_body=lambda error: error_reply(error, google_format=google_format).body,
        max_bytes=transcoder.calls.max_response_bytes,
    )
    encoded = encoder.encode(stream)
    if encoded.error is not None:
        logger.warning(
            "stream of %s ended after %d messages: %s",
            match.route.method.full_name,
            encoded.count,
            encoded.error.message,
        )
    headers = response_metadata.headers(stream.initial_metadata, stream.trailing_metadata)
    return Reply(200, encoded.body, headers, encoded.content_type)


def _json_of(transcoder: Transcoder, match: Match, message: Message) -> Any:
    use_proto_names = transcoder.codec.options.use_proto_names
    value = transcoder.codec.encode(message)
    return stream_encoding.response_value(value, match.route, use_proto_names=use_proto_names)
