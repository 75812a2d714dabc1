"""The ASGI app: one catch-all endpoint running the pipeline for every request.

Input: an HTTP request (from Mangum's scope, with the raw Lambda event). Output: the HTTP
response. Every exception ends here as a JSON error body; none reaches Mangum.
"""

from __future__ import annotations

import logging
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from grpc_transcoder import backend_call, request_decoding, response_encoding
from grpc_transcoder.errors import (
    Code,
    NoBackendError,
    TranscoderError,
    error_body,
    request_info_detail,
)
from grpc_transcoder.response_encoding import Reply
from grpc_transcoder.runtime import Runtime, Transcoder
from grpc_transcoder.settings import ErrorFormat

logger = logging.getLogger(__name__)

ERROR_CONTENT_TYPE = "application/json"


def create_app(runtime: Runtime) -> Starlette:
    # An ASGI callable rather than a function endpoint: Starlette then routes every HTTP method
    # to it, and the route table (not Starlette) decides between 404 and 405.
    return Starlette(routes=[Route("/{path:path}", TranscodeEndpoint(runtime))])


class TranscodeEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # Deliberately synchronous inside an async endpoint: Lambda serves one request at a
        # time, and a blocking grpc call here is measured faster than a thread-pool hop or
        # grpc.aio on Mangum's loop.
        reply = _handle(self._runtime, request, await request.body())
        await _respond(reply)(scope, receive, send)


def _respond(reply: Reply) -> Response:
    headers = dict(reply.headers)
    return Response(
        reply.body, status_code=reply.status, headers=headers, media_type=reply.content_type
    )


def _handle(runtime: Runtime, request: Request, body: bytes) -> Reply:
    request_id = request_id_of(request.scope)
    google_format = False
    try:
        transcoder = runtime.current()
        google_format = transcoder.settings.error_format is ErrorFormat.GOOGLE
        return _transcode(runtime, transcoder, request, body)
    except TranscoderError as exc:
        return error_reply(exc, google_format=google_format)
    except Exception:
        logger.exception("unexpected error (request id %s)", request_id)
        internal = TranscoderError(
            f"internal error; quote request id {request_id}",
            code=Code.INTERNAL,
            details=[request_info_detail(request_id)],
        )
        return error_reply(internal, google_format=google_format)


def error_reply(error: TranscoderError, *, google_format: bool) -> Reply:
    """The only place an error becomes an HTTP response."""
    return Reply(error.status, error_body(error, google_format=google_format), error.headers)


def _transcode(runtime: Runtime, transcoder: Transcoder, request: Request, body: bytes) -> Reply:
    scope = request.scope
    match = transcoder.routes.match(scope["method"], raw_path(scope))
    method = match.route.method
    message = transcoder.registry.message_class(method.input)()
    request_decoding.decode(
        match,
        message,
        query=scope.get("query_string", b"").decode("latin-1"),
        body=body,
        content_type=request.headers.get("content-type", ""),
        codec=transcoder.codec,
    )
    target = transcoder.backends.resolve(method.service)
    if target is None:
        raise NoBackendError(f"no backend is configured for {method.service}")
    result = backend_call.call_unary(
        runtime.channels.get(target),
        method.grpc_path,
        message.SerializeToString(),
        timeout=_timeout(scope),
    )
    return response_encoding.encode_unary(
        match.route, result.response, registry=transcoder.registry, codec=transcoder.codec
    )


def _timeout(scope: Scope) -> float:
    context = scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return 30.0
    return max(0.001, min(30.0, (float(remaining()) - 500) / 1000))


def raw_path(scope: Scope) -> str:
    """The path as the client sent it, percent-encoding intact where the event keeps it."""
    event = scope.get("aws.event")
    if isinstance(event, dict):
        raw = event.get("rawPath") or event.get("path")
        if isinstance(raw, str) and raw:
            return raw
    return str(scope["path"])


def request_id_of(scope: Scope) -> str:
    event = scope.get("aws.event")
    if isinstance(event, dict):
        request_id = (event.get("requestContext") or {}).get("requestId")
        if request_id:
            return str(request_id)
    context = scope.get("aws.context")
    return str(getattr(context, "aws_request_id", "") or uuid.uuid4())
