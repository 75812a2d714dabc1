"""The Lambda adapter: what Mangum answers, without an event loop per request.

The real app behind both the adapter and Mangum itself must give the same Lambda responses for
every event source (text, binary, errors, HEAD). Apps that suspend, fail or answer oddly are
small ASGI functions written here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext
from mangum import Mangum
from mangum.types import ASGI, Receive, Scope, Send

from grpc_transcoder.lambda_adapter import LambdaAdapter, UnsupportedEventError
from grpc_transcoder.lambda_handler import make_handler
from tests.conftest import LIBRARY_SET, Handler, runtime_for
from tests.event_builder import Source, build

EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
TEXT_TYPES = ["text/", "application/json"]
REQUESTS: list[tuple[str, str, str | None]] = [
    ("GET", "/v1/shelves/fiction/books/dune", None),
    ("HEAD", "/v1/shelves/fiction/books/dune", None),
    ("GET", "/v1/shelves/fiction/books/dune/cover", None),  # google.api.HttpBody: binary
    ("GET", "/v1/shelves/nope", None),  # the backend's NOT_FOUND
    ("GET", "/v1/no/such/route", None),
    ("POST", "/v1/debug/kinds:echo", '{"fInt64": "12", "wStruct": {"a": [1, "b"]}}'),
    ("POST", "/v1/debug/kinds:echo", "{not json"),
]


@pytest.fixture(scope="module")
def both(backend: example_backend.RunningBackend) -> Iterator[tuple[Handler, Handler]]:
    """The adapter and Mangum itself, around the same app and runtime."""
    runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", backend.target),))
    adapter = make_handler(runtime)
    loop = asyncio.new_event_loop()  # Mangum runs the app on the thread's loop
    asyncio.set_event_loop(loop)
    text_types = adapter.config["text_mime_types"]
    yield adapter, Mangum(adapter.app, lifespan="off", text_mime_types=text_types)
    asyncio.set_event_loop(None)
    loop.close()


@pytest.mark.parametrize("source", EVERY_SOURCE)
@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_the_adapter_answers_what_mangum_answers(
    both: tuple[Handler, Handler],
    context: LambdaContext,
    source: Source,
    method: str,
    path: str,
    body: str | None,
) -> None:
    adapter, mangum = both
    headers = [("content-type", "application/json")] if body is not None else []
    event = build(source, method, path, body=body, headers=headers, request_id="same-id")
    ours, theirs = adapter(event, context), mangum(event, context)
    assert ours == theirs
    assert ours["statusCode"] in {200, 400, 404}


def test_the_app_runs_in_a_thread_without_an_event_loop(
    backend: example_backend.RunningBackend, context: LambdaContext
) -> None:
    runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", backend.target),))
    handler = make_handler(runtime)
    event = build(Source.HTTP_API, "GET", "/v1/shelves/fiction")
    answers: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: answers.append(handler(event, context)))
    thread.start()
    thread.join(timeout=30)
    assert [answer["statusCode"] for answer in answers] == [200]


def test_each_event_builds_its_scope_once(context: LambdaContext) -> None:
    adapter = LambdaAdapter(_echo_app, text_mime_types=TEXT_TYPES)
    for source in Source:
        handler = adapter.infer(build(source, "GET", "/x"), context)
        assert handler.scope is handler.scope, source


def _adapter(app: ASGI) -> LambdaAdapter:
    return LambdaAdapter(app, text_mime_types=TEXT_TYPES)


def _event(body: str = "") -> dict[str, Any]:
    return build(Source.HTTP_API, "POST", "/anything", body=body)


async def _echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    request = await receive()
    after = await receive()
    payload = {"path": scope["path"], "body": request["body"].decode(), "then": after["type"]}
    await _json(send, payload)


async def _json(send: Send, payload: Any, status: int = 200) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(payload)})


def test_the_body_arrives_whole_then_a_disconnect(context: LambdaContext) -> None:
    response = _adapter(_echo_app)(_event("hello"), context)
    assert orjson.loads(response["body"]) == {
        "path": "/anything",
        "body": "hello",
        "then": "http.disconnect",
    }


def test_an_app_that_suspends_is_finished_on_an_event_loop(context: LambdaContext) -> None:
    async def waits(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0)  # a bare yield
        await asyncio.sleep(0.001)  # a timer future
        loop = asyncio.get_running_loop()
        failing: asyncio.Future[None] = loop.create_future()
        loop.call_soon(failing.set_exception, ValueError("from the future"))
        try:
            await failing
        except ValueError as exc:  # the awaited future's exception reaches the app
            await _json(send, {"caught": str(exc)})

    adapter = _adapter(waits)
    try:
        for _ in range(2):  # the private loop is reused
            response = adapter(_event(), context)
            assert response["statusCode"] == 200
            assert orjson.loads(response["body"]) == {"caught": "from the future"}
    finally:
        adapter.close()


def test_a_chunked_response_is_joined(context: LambdaContext) -> None:
    async def chunks(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    response = _adapter(chunks)(_event(), context)
    assert (response["statusCode"], response["body"]) == (201, "one two three")


async def _raises(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug in the app")


async def _returns_early(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def _sends_twice(scope: Scope, receive: Receive, send: Send) -> None:
    await _json(send, {})
    await _json(send, {})


@pytest.mark.parametrize("app", [_raises, _returns_early, _sends_twice])
def test_a_failing_app_answers_500_in_json_and_the_adapter_keeps_serving(
    app: ASGI,
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = _adapter(app)
    with caplog.at_level(logging.ERROR, logger="grpc_transcoder.lambda_adapter"):
        first, second = adapter(_event(), context), adapter(_event(), context)
    assert first == second
    assert first["statusCode"] == 500
    assert first["headers"]["content-type"] == "application/json"
    assert orjson.loads(first["body"]) == {
        "code": 13,
        "message": "internal error in the HTTP adapter",
        "details": [],
    }
    assert "the app failed on POST /anything" in caplog.text
    assert "Traceback" in caplog.text  # the cause stays in the log, not in the answer


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": [{"eventSource": "aws:sqs"}]}, {"version": "1.0", "payload": "x"}],
    ids=["empty", "sqs", "custom"],
)
def test_an_event_from_no_http_source_is_refused_by_name(
    event: dict[str, Any], context: LambdaContext
) -> None:
    with pytest.raises(UnsupportedEventError, match="not an HTTP event"):
        _adapter(_echo_app)(event, context)
