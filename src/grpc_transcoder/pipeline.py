"""The per-request pipeline: route, decode, call, encode, with the one error path around it.

Input: an `HttpRequest`. Output: a `Reply`. No exception escapes `transcode`. Everything it uses
was built at load time on the `State`; a request only looks things up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from google.protobuf.message import Message

from grpc_transcoder.calling.caller import ResponseStream
from grpc_transcoder.connect import calls as connect_calls
from grpc_transcoder.connect import error_body as connect_errors
from grpc_transcoder.connect import protocol as connect_protocol
from grpc_transcoder.connect.protocol import ConnectFormat
from grpc_transcoder.decoding import content_encoding
from grpc_transcoder.decoding import streams as stream_decoding
from grpc_transcoder.encoding import compression, conditional, response_metadata
from grpc_transcoder.encoding import streams as stream_encoding
from grpc_transcoder.encoding.streams import StreamEncoder
from grpc_transcoder.errors import (
    NotReadyError,
    RouteNotFoundError,
    TranscoderError,
    error_body,
    internal_error,
)
from grpc_transcoder.exchange import HttpRequest, Reply, with_headers
from grpc_transcoder.hooks.table import HookRun
from grpc_transcoder.loading.runtime import Runtime
from grpc_transcoder.loading.serving import ServingOptions
from grpc_transcoder.loading.state import State
from grpc_transcoder.observe import access_log, metrics
from grpc_transcoder.passthrough import forward, grpc_web, grpc_web_reply
from grpc_transcoder.passthrough.grpc_web import WebFormat
from grpc_transcoder.reserved.cors import CorsPolicy
from grpc_transcoder.routing.table import Match
from grpc_transcoder.settings import Passthrough

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
    web = grpc_web.negotiate(request.content_type, request.headers.get("accept", ""))
    reply = _answer(runtime, request, web, log, refused)
    if log.serving is not None:
        reply = _for_the_client(request, reply, log.serving)
    _observe(log, reply)
    return reply


def _for_the_client(request: HttpRequest, reply: Reply, serving: ServingOptions) -> Reply:
    """What every answer gets on its way out, errors included: 304 for a matching
    If-None-Match, the CORS headers of an allowed origin, and gzip where it is accepted."""
    try:
        reply = conditional.not_modified(request, reply)
        cors = serving.cors
        if cors is not None and "origin" in request.headers:
            added = cors.answer_headers(request)
            if added is not None and "access-control-allow-origin" not in reply.headers:
                reply = with_headers(reply, added)
            reply = with_headers(reply, {"vary": "Origin"})
        accept = request.headers.get("accept-encoding", "")
        return compression.compressed(reply, accept, serving.compression_min_bytes)
    except Exception:
        logger.exception("could not finish the answer to %s", request.request_id)
        return reply


def _answer(
    runtime: Runtime,
    request: HttpRequest,
    web: WebFormat | None,
    log: access_log.RequestLog,
    refused: TranscoderError | None,
) -> Reply:
    state: State | None = None
    connect: ConnectFormat | None = None
    try:
        state = runtime.current()
        log.loaded(state)
        connect = _connect(request, state.serving, state.registry.services)
        if refused is not None:
            raise refused
        request = content_encoding.decoded(request, state.serving.max_request_bytes)
        cors = state.serving.cors
        if cors is not None and cors.is_preflight(request):
            return _preflight(state, request, cors, log)
        reserved = _reserved(runtime, state, request, log)
        if reserved is not None:
            return reserved
        return _call(state, request, web, connect, log)
    except NotReadyError as exc:
        log.failed(exc)
        return _not_ready(request, exc, web, log)
    except TranscoderError as exc:
        log.failed(exc)
        return _error_reply(exc, web, state, connect)
    except Exception:
        logger.exception("unexpected error (request id %s)", request.request_id)
        internal = internal_error(request.request_id)
        log.failed(internal)
        return _error_reply(internal, web, state, connect)


def _call(
    state: State,
    request: HttpRequest,
    web: WebFormat | None,
    connect: ConnectFormat | None,
    log: access_log.RequestLog,
) -> Reply:
    """A Connect call, a pass-through call, or else a routed JSON call."""
    if connect is not None:
        return connect_calls.answer(state, request, connect, log)
    passed = forward.answer(state, request, web, log)
    return passed if passed is not None else _transcode(state, request, log)


def _connect(
    request: HttpRequest, serving: ServingOptions, services: Sequence[str] = ()
) -> ConnectFormat | None:
    """The request's Connect form; None when it is no Connect call or TRANSCODER_CONNECT is off.

    `services` are the loaded ones (a service without a package is recognized among them).
    """
    if not serving.connect:
        return None
    return connect_protocol.negotiate(request, serving.base_path, services)


def _preflight(
    state: State, request: HttpRequest, cors: CorsPolicy, log: access_log.RequestLog
) -> Reply:
    """A CORS preflight, answered with the methods the path's routes allow (see
    `_call_path_methods` for `/package.Service/Method`); 404 for a path no route matches."""
    log.reserved("CORS preflight")
    methods = state.routes.allowed_methods(request.path)
    if forward.is_call_path(request.path, state.routes.base_path):
        methods = tuple(sorted({*methods, *_call_path_methods(state, request.path)}))
    if not methods:
        raise RouteNotFoundError(f"no route for {request.path[:200]!r} to allow")
    return cors.preflight(request, methods)


def _call_path_methods(state: State, path: str) -> tuple[str, ...]:
    """What a preflight allows on `/package.Service/Method`: POST for pass-through and
    Connect, and GET for Connect calls of NO_SIDE_EFFECTS methods."""
    serving = state.serving
    methods: tuple[str, ...] = ()
    if serving.passthrough is not Passthrough.OFF or serving.connect:
        methods = ("POST",)
    if serving.connect:
        known = state.registry.methods.get(path[len(state.routes.base_path) :])
        if known is not None and known.no_side_effects:
            methods = ("GET", "POST")
    return methods


def _reserved(
    runtime: Runtime, state: State, request: HttpRequest, log: access_log.RequestLog
) -> Reply | None:
    """The health report and the OpenAPI document, served before routing when configured.

    Their modules are imported on first use: most functions never serve them.
    """
    serving = state.serving
    path = request.path.rstrip("/")
    if serving.health_path and path == serving.health_path:
        from grpc_transcoder.reserved import health  # noqa: PLC0415

        log.reserved(serving.health_path)
        return health.report(runtime, state, request)
    if serving.openapi_path and path == serving.openapi_path:
        from grpc_transcoder.reserved.openapi import document as openapi  # noqa: PLC0415

        log.reserved(serving.openapi_path)
        return openapi.served(state, request)
    return None


def _not_ready(
    request: HttpRequest, error: NotReadyError, web: WebFormat | None, log: access_log.RequestLog
) -> Reply:
    """503 and why; at the health path (and GET), the health report says the same."""
    from grpc_transcoder.reserved import health  # noqa: PLC0415  needed only while not ready

    serving = log.serving = health.serving_while_not_ready()
    if health.is_health_request(request, serving.health_path):
        log.reserved(serving.health_path)
        return health.not_ready_report(request, error.message)
    connect = _connect(request, serving)
    if connect is not None:
        return connect_errors.error_reply(connect, error, None)
    if web is not None:
        return grpc_web_reply.error_reply(web, error, None)
    return error_reply(error, google_format=serving.google_errors)


def _observe(log: access_log.RequestLog, reply: Reply) -> None:
    """Write the access log line and the metrics record (one line when metrics are on); a
    failure here never fails the reply."""
    try:
        record = log.finish(reply)
        serving = log.serving
        if serving is None or serving.metrics:  # one line: the metrics and the access log
            namespace = serving.metrics_namespace if serving else metrics.DEFAULT_NAMESPACE
            metrics.writer(namespace).write(record, ACCESS_LOG.fields_to_log(record))
        else:
            ACCESS_LOG.request(record)
    except Exception:
        logger.exception("could not write the access log or metrics of %s", log.request.request_id)


def error_reply(error: TranscoderError, *, google_format: bool) -> Reply:
    """The only place an error becomes an HTTP response (gRPC-Web: see `_error_reply`)."""
    return Reply(error.status, error_body(error, google_format=google_format), error.headers)


def _error_reply(
    error: TranscoderError,
    web: WebFormat | None,
    state: State | None,
    connect: ConnectFormat | None = None,
) -> Reply:
    """Connect clients get Connect's error JSON (in the end-of-stream message of a stream);
    gRPC-Web clients read every error from a trailer frame (HTTP 200); others get JSON."""
    if connect is not None:
        return connect_errors.error_reply(connect, error, state.registry if state else None)
    if web is not None:
        return grpc_web_reply.error_reply(web, error, state.registry if state else None)
    return error_reply(error, google_format=state.serving.google_errors if state else False)


def _transcode(state: State, request: HttpRequest, log: access_log.RequestLog) -> Reply:
    match = state.routes.match(request.method, request.path)
    log.matched(match.route)
    method = match.route.method
    hooked = state.hooks.start(method.full_name, request)  # a no-op without hooks
    if method.client_streaming:
        requests = stream_decoding.decode(
            match, request, decoder=state.decoder, registry=state.registry
        )
        requests = hooked.request_bytes(requests, method.input)
    else:
        message = state.registry.message_class(method.input)()
        state.decoder.decode(match, request, message)
        requests = [hooked.request(message).SerializeToString()]
    spec = state.calls.spec(
        method, request, http_method=match.route.http_method, added=hooked.metadata
    )
    log.lap()  # decoded; a server stream's backend time includes its encoding
    if method.server_streaming:
        return _stream_reply(state, request, match, state.caller.stream(spec, requests), hooked)
    result = state.caller.unary(spec, requests)
    log.lap()  # called
    reply = state.responses.unary(
        match.route, hooked.response_bytes(result.response, method.output)
    )
    return response_metadata.finish(
        reply,
        result.initial_metadata,
        result.trailing_metadata,
        state.calls.max_response_bytes,
        state.serving.response_headers,
    )


def _stream_reply(
    state: State, request: HttpRequest, match: Match, stream: ResponseStream, hooked: HookRun
) -> Reply:
    """A server stream framed as the Accept header asks; errors after the first message end it.

    Each message goes through the response hooks; a hook's error ends the stream like a
    backend error.
    """
    google_format = state.serving.google_errors
    route = match.route
    message_class = state.registry.message_class(route.method.output)

    def to_json(data: bytes) -> object:
        message: Message = hooked.response(message_class.FromString(data))
        return state.responses.json_value(message, route)

    encoder = StreamEncoder(
        stream_encoding.negotiate(request.headers.get("accept", "")),
        to_json=to_json,
        error_body=lambda error: error_reply(error, google_format=google_format).body,
        max_bytes=state.calls.max_response_bytes,
    )
    encoded = encoder.encode(stream)
    if encoded.error is not None:
        logger.warning(
            "stream of %s ended after %d messages: %s",
            route.method.full_name,
            encoded.count,
            encoded.error.message,
        )
    headers = response_metadata.headers(stream.initial_metadata, stream.trailing_metadata)
    return Reply(200, encoded.body, headers, encoded.content_type)
