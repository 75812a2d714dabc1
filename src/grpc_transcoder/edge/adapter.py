"""The Lambda adapter: every event through the pipeline, every reply in its source's shape.

Input: a Lambda event and its context. Output: the response in the shape the event source
expects. `edge.events` reads the event into an `HttpRequest`; the pipeline answers it; Mangum's
event handlers shape the answer (text or base64 by content type, multi-value headers, cookies).
No ASGI app sits in between: the pipeline answers every path, of any bytes, itself.

Every event is answered by the pipeline, with an access log line: one its source could not have
sent (or one from no HTTP source) gets a 400 in the JSON error shape, and anything unexpected a
500, never an exception escaping to Lambda.
"""

from __future__ import annotations

import logging
from typing import Any

from mangum.handlers import ALB, APIGateway, HTTPGateway, LambdaAtEdge
from mangum.types import LambdaConfig, LambdaHandler, Response

from grpc_transcoder import pipeline
from grpc_transcoder.edge import events as lambda_events
from grpc_transcoder.edge.events import EventSource
from grpc_transcoder.errors import Code, TranscoderError, error_body
from grpc_transcoder.exchange import JSON_CONTENT_TYPE, Reply
from grpc_transcoder.loading.runtime import Runtime

logger = logging.getLogger(__name__)


def _shaper(handler: type[LambdaHandler]) -> type[LambdaHandler]:
    """Mangum's handler class, reduced to shaping responses: its request side is not used.

    The response side reads only the raw event from the scope, so the scope is just that.
    """

    def scope(self: Any) -> dict[str, Any]:
        return {"aws.event": self.event}

    return type(handler.__name__, (handler,), {"scope": property(scope)})


SHAPERS: dict[EventSource | None, type[LambdaHandler]] = {
    EventSource.REST_API: _shaper(APIGateway),
    EventSource.HTTP_API: _shaper(HTTPGateway),
    EventSource.ALB: _shaper(ALB),
    EventSource.LAMBDA_AT_EDGE: _shaper(LambdaAtEdge),
    None: _shaper(APIGateway),  # not an HTTP event: answered in the REST API's shape
}


class LambdaAdapter:
    """Answers one Lambda event at a time with the pipeline of `runtime`."""

    def __init__(self, runtime: Runtime, *, text_mime_types: list[str]) -> None:
        """`text_mime_types`: response types sent as text (substring match); others go base64."""
        self.runtime = runtime
        self.config = LambdaConfig(
            api_gateway_base_path="/", text_mime_types=text_mime_types, exclude_headers=[]
        )
        # A content-encoded (gzip) body is binary whatever its type: always base64.
        self.binary = LambdaConfig(
            api_gateway_base_path="/", text_mime_types=[], exclude_headers=[]
        )

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        """The Lambda response to `event`; `context` is Lambda's (or anything like it)."""
        source = lambda_events.source_of(event)
        try:
            reply, head = self._answer(event, context, source)
            return self._shape(source, event, context, reply, head=head)
        except Exception:
            logger.exception("the adapter failed on a %s event", source.name if source else "other")
        try:
            return self._shape(source, event, context, _internal_error(), head=False)
        except Exception:
            logger.exception("the adapter cannot shape a response for this event")
            return {
                "statusCode": 500,
                "headers": {"content-type": JSON_CONTENT_TYPE},
                "body": _internal_error().body.decode(),
                "isBase64Encoded": False,
            }

    def _answer(self, event: Any, context: Any, source: EventSource | None) -> tuple[Reply, bool]:
        try:
            request = lambda_events.read(event, context, source)
        except TranscoderError as exc:
            fallback = lambda_events.fallback(event, context)
            return pipeline.transcode(self.runtime, fallback, refused=exc), False
        return pipeline.transcode(self.runtime, request), request.method == "HEAD"

    def _shape(
        self, source: EventSource | None, event: Any, context: Any, reply: Reply, *, head: bool
    ) -> dict[str, Any]:
        headers = [[name.encode(), value.encode()] for name, value in reply.headers.items()]
        headers.append([b"content-type", reply.content_type.encode()])
        # One header per cookie: Mangum makes them the `cookies` list of payload 2.0 events
        # and function URLs, and `multiValueHeaders` of REST API and multi-value ALB events.
        headers.extend([b"set-cookie", cookie.encode()] for cookie in reply.cookies)
        body = reply.body
        if head:  # a HEAD answer keeps the GET's headers and drops its body
            headers.append([b"content-length", str(len(body)).encode()])
            body = b""
        response: Response = {"status": reply.status, "headers": headers, "body": body}
        config = self.binary if _is_binary(reply) else self.config
        shaper = SHAPERS[source](event if isinstance(event, dict) else {}, context, config)
        return dict(shaper(response))


# Framed bodies whose type looks like text (`+json`) but whose frame prefixes are bytes.
_FRAMED_TYPES = ("application/connect+",)


def _is_binary(reply: Reply) -> bool:
    """Whether the body goes base64 whatever its type: content-encoded (gzip) or framed."""
    return "content-encoding" in reply.headers or reply.content_type.startswith(_FRAMED_TYPES)


def _internal_error() -> Reply:
    error = TranscoderError("internal error in the Lambda adapter", code=Code.INTERNAL)
    return Reply(error.status, error_body(error), content_type=JSON_CONTENT_TYPE)
