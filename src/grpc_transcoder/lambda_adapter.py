"""The Lambda adapter: Mangum's event handlers, with the ASGI app run without an event loop.

Input: a Lambda event (API Gateway REST API or HTTP API, ALB, Function URL, Lambda@Edge) and its
context. Output: the response in the shape that event source expects. Mangum's handler classes
still turn the event into an ASGI scope and the response into the Lambda answer (base64 for
binary types, multi-value headers, cookies); this module replaces only `Mangum.__call__` and its
HTTP cycle, for two measured costs on every warm request:

- Mangum creates an asyncio queue and a task and runs the loop to finish each request: about
  80 µs of the handler's time in the warm benchmark. The transcoder's app never waits for
  anything (it reads the whole body with one `receive()` and sends the response), so its
  coroutine runs to the end in a single `send(None)`. An app that does suspend is finished on a
  private event loop, as Mangum would have.
- Mangum's handlers build the scope in a property, and the payload 2.0 handler reads it again
  to shape the response: here each event's scope is built once.

An exception escaping the app is logged and answered 500 with the JSON error body, as the
pipeline answers its own failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from functools import cached_property
from typing import Any

from mangum.adapter import HANDLERS
from mangum.exceptions import UnexpectedMessage
from mangum.types import (
    ASGI,
    LambdaConfig,
    LambdaEvent,
    LambdaHandler,
    Message,
    Response,
    Scope,
)

from grpc_transcoder.errors import Code, TranscoderError, error_body

logger = logging.getLogger(__name__)


def _scope_once(handler: type[LambdaHandler]) -> type[LambdaHandler]:
    """The handler class with its scope built on first use and then kept."""
    scope: Any = handler.scope
    return type(handler.__name__, (handler,), {"scope": cached_property(scope.fget)})


# Mangum's own handlers in Mangum's own order: the first whose infer() accepts the event wins.
EVENT_HANDLERS = tuple(_scope_once(handler) for handler in HANDLERS)


class UnsupportedEventError(RuntimeError):
    """The event comes from no HTTP source the adapter knows (a test invoke, a queue...)."""


class LambdaAdapter:
    """Calls an ASGI app once per Lambda event and shapes its response for the event source."""

    def __init__(self, app: ASGI, *, text_mime_types: list[str]) -> None:
        """`text_mime_types`: response types sent as text (substring match); others go base64."""
        self.app = app
        self.config = LambdaConfig(
            api_gateway_base_path="/", text_mime_types=text_mime_types, exclude_headers=[]
        )
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, event: LambdaEvent, context: Any) -> dict[str, Any]:
        """The Lambda response to `event`; `context` is Lambda's (or anything like it)."""
        handler = self.infer(event, context)
        response = self._run(handler.scope, handler.body)
        return handler(response)

    def close(self) -> None:
        """Close the event loop kept for apps that suspend, if one was needed."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def infer(self, event: LambdaEvent, context: Any) -> LambdaHandler:
        for handler_class in EVENT_HANDLERS:
            if handler_class.infer(event, context, self.config):
                return handler_class(event, context, self.config)
        keys = ", ".join(sorted(event)) if isinstance(event, dict) else type(event).__name__
        raise UnsupportedEventError(
            "not an HTTP event from API Gateway, an ALB, a function URL or Lambda@Edge "
            f"(its keys: {keys})"
        )

    def _run(self, scope: Scope, body: bytes) -> Response:
        cycle = _Cycle(body)
        try:
            self._drive(self.app(scope, cycle.receive, cycle.send))
            return cycle.response()
        except Exception:
            logger.exception("the app failed on %s %s", scope.get("method"), scope.get("path"))
            return _internal_error()

    def _drive(self, coroutine: Coroutine[Any, Any, None]) -> None:
        try:
            pending = coroutine.send(None)
        except StopIteration:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(_finish(coroutine, pending))


async def _finish(coroutine: Coroutine[Any, Any, None], pending: Any) -> None:
    """Go on with a coroutine that suspended outside any loop, as an asyncio task would.

    `pending` is what it yielded: an asyncio future it waits for, or None for a bare yield.
    Once the future is done, resuming the coroutine hands it the result or the exception.
    """
    while True:
        if pending is None:
            await asyncio.sleep(0)
        else:  # wait without raising: the coroutine gets the outcome when it resumes
            await asyncio.wait([pending])
        try:
            pending = coroutine.send(None)
        except StopIteration:
            return


class _Cycle:
    """One request's ASGI messages: the whole body in, the response collected."""

    def __init__(self, body: bytes) -> None:
        self._request: Message | None = {"type": "http.request", "body": body, "more_body": False}
        self._status: int | None = None
        self._headers: list[list[bytes]] = []
        self._chunks: list[bytes] = []
        self._complete = False

    async def receive(self) -> Message:
        """The whole body first; then a disconnect (the client has sent everything)."""
        request, self._request = self._request, None
        return request if request is not None else {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" and self._status is None:
            self._status = message["status"]
            headers = message.get("headers", ())
            self._headers = [[bytes(name), bytes(value)] for name, value in headers]
        elif kind == "http.response.body" and self._status is not None and not self._complete:
            self._chunks.append(message.get("body", b""))
            self._complete = not message.get("more_body", False)
        else:
            raise UnexpectedMessage(f"unexpected ASGI message {kind!r} at this point")

    def response(self) -> Response:
        if self._status is None or not self._complete:
            raise UnexpectedMessage("the app returned before sending its whole response")
        return {"status": self._status, "headers": self._headers, "body": b"".join(self._chunks)}


def _internal_error() -> Response:
    error = TranscoderError("internal error in the HTTP adapter", code=Code.INTERNAL)
    return {
        "status": error.status,
        "headers": [[b"content-type", b"application/json"]],
        "body": error_body(error, google_format=False),
    }
