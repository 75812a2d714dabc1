"""The ASGI app: turns each request into an `HttpRequest` and runs the pipeline on it.

Input: the ASGI scope from Mangum (with the raw Lambda event in `aws.event`) or any ASGI
server. Output: the HTTP response. The pipeline never raises, so nothing reaches Mangum.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from grpc_transcoder import pipeline
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.runtime import Runtime


def create_app(runtime: Runtime) -> Starlette:
    # An ASGI callable rather than a function endpoint: Starlette then routes every HTTP method
    # to it, and the route table (not Starlette) decides between 404 and 405.
    return Starlette(routes=[Route("/{path:path}", TranscodeEndpoint(runtime))])


class TranscodeEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        # Deliberately synchronous inside an async endpoint: Lambda serves one request at a
        # time, and a blocking grpc call here is measured faster than a thread-pool hop or
        # grpc.aio on Mangum's loop.
        reply = pipeline.transcode(self._runtime, http_request(scope, body))
        await _response(reply, head=scope["method"] == "HEAD")(scope, receive, send)


def _response(reply: Reply, *, head: bool = False) -> Response:
    """The Starlette response; a HEAD answer keeps the GET's headers and drops its body."""
    # The content type goes in as a header: as `media_type`, Starlette would append
    # "; charset=utf-8" to text types, which is wrong for raw google.api.HttpBody bytes.
    headers = {**reply.headers, "content-type": reply.content_type}
    if head:
        headers["content-length"] = str(len(reply.body))
    return Response(b"" if head else reply.body, status_code=reply.status, headers=headers)


def http_request(scope: Scope, body: bytes) -> HttpRequest:
    event: Mapping[str, Any] = scope.get("aws.event") or {}
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    client = scope.get("client") or ("", 0)
    return HttpRequest(
        method=scope["method"],
        path=raw_path(scope, event),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        request_id=request_id_of(event, scope.get("aws.context")),
        source_ip=str(client[0] or ""),
        event=event,
        context=scope.get("aws.context"),
    )


def raw_path(scope: Scope, event: Mapping[str, Any]) -> str:
    """The path as the client sent it, percent-encoding intact where the event keeps it.

    Mangum hands the app a decoded path (`/a%2Fb` becomes `/a/b`), so the path comes from the
    event: REST API and ALB `path` and Function URL `rawPath` keep the encoding; an HTTP API
    (payload 2.0) `rawPath` is already decoded by API Gateway. Other ASGI servers give
    `raw_path`.
    """
    raw = event.get("rawPath") or event.get("path")
    if isinstance(raw, str) and raw:
        return raw
    raw_bytes = scope.get("raw_path")
    if isinstance(raw_bytes, bytes) and raw_bytes:
        return raw_bytes.decode("latin-1")
    return str(scope["path"])


def request_id_of(event: Mapping[str, Any], context: Any) -> str:
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id:
        return str(request_id)
    return str(getattr(context, "aws_request_id", "") or uuid.uuid4())
