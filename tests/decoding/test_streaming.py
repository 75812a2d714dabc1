"""Streaming: server streams as a JSON array, NDJSON or SSE; request streams from arrays or NDJSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.decoding import streams as stream_decoding
from grpc_transcoder.encoding.streams import (
    ERROR_RESERVE_BYTES,
    StreamEncoder,
    StreamFormat,
    negotiate,
)
from grpc_transcoder.encoding.unary import ResponseEncoder
from grpc_transcoder.errors import BackendError, Code, RequestError, TranscoderError
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.state import State
from tests.conftest import LIBRARY_SET, Handler, runtime_for
from tests.event_builder import Source, build, response_body, response_header, response_json

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"


def _stream(
    handler: Handler, context: LambdaContext, accept: str = "", **query: str
) -> dict[str, Any]:
    headers = [("accept", accept)] if accept else []
    event = build(
        Source.HTTP_API, "GET", "/v1/debug:stream", query=list(query.items()), headers=headers
    )
    return handler(event, context)


def _items(response: dict[str, Any]) -> list[Any]:
    """The JSON values of a streamed body, whatever its framing (SSE errors get an "event")."""
    text = response_body(response).decode()
    content_type = response_header(response, "content-type") or ""
    if content_type.startswith(NDJSON):
        return [json.loads(line) for line in text.splitlines()]
    if content_type.startswith(SSE):
        frames = [frame for frame in text.split("\n\n") if frame]
        return [_sse_frame(frame) for frame in frames]
    value = json.loads(text)
    assert isinstance(value, list)
    return value


def _sse_frame(frame: str) -> Any:
    fields = dict(line.split(": ", 1) for line in frame.split("\n"))
    value = json.loads(fields["data"])
    return {"event": fields["event"], **value} if "event" in fields else value


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        pytest.param("", "application/json", id="json-array"),
        pytest.param("*/*", "application/json", id="any"),
        pytest.param(NDJSON, NDJSON, id="ndjson"),
        pytest.param(SSE, SSE, id="sse"),
    ],
)
def test_server_stream_formats(
    library_handler: Handler, context: LambdaContext, accept: str, content_type: str
) -> None:
    response = _stream(library_handler, context, accept, count="3")
    assert response["statusCode"] == 200
    assert (response_header(response, "content-type") or "").startswith(content_type)
    assert [item["index"] for item in _items(response)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("accept", "last"),
    [
        pytest.param(
            "",
            {"error": {"code": 10, "message": "failed after 2 messages", "details": []}},
            id="json-array",
        ),
        pytest.param(
            NDJSON,
            {"error": {"code": 10, "message": "failed after 2 messages", "details": []}},
            id="ndjson",
        ),
        pytest.param(
            SSE,
            {"event": "error", "code": 10, "message": "failed after 2 messages", "details": []},
            id="sse",
        ),
    ],
)
def test_an_error_after_some_messages_ends_the_stream(
    library_handler: Handler, context: LambdaContext, accept: str, last: dict[str, Any]
) -> None:
    response = _stream(library_handler, context, accept, count="5", failAfter="2", failCode="10")
    assert response["statusCode"] == 200
    items = _items(response)
    assert [item.get("index") for item in items[:-1]] == [0, 1]
    assert items[-1] == last


def test_stream_error_element_in_google_format(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    from grpc_transcoder.settings import ErrorFormat

    handler = make_library_handler(error_format=ErrorFormat.GOOGLE)
    response = _stream(handler, context, NDJSON, count="3", failAfter="1")
    assert _items(response)[-1] == {
        "error": {
            "code": 500,
            "message": "failed after 1 messages",
            "status": "INTERNAL",
            "details": [],
        }
    }


def test_an_error_before_any_message_is_an_error_reply(
    library_handler: Handler, context: LambdaContext
) -> None:
    event = build(Source.REST_API, "GET", "/v1/shelves/nowhere/books:stream")
    response = library_handler(event, context)
    assert response["statusCode"] == 404
    assert response_json(response)["code"] == 5


def test_stream_of_books(library_handler: Handler, context: LambdaContext) -> None:
    event = build(Source.FUNCTION_URL, "GET", "/v1/shelves/fiction/books:stream")
    titles = [book["title"] for book in response_json(library_handler(event, context))]
    assert "Dune" in titles


def test_a_stream_over_the_size_limit_ends_with_an_error(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    limit = 20_000
    handler = make_library_handler(max_response_bytes=limit)
    response = _stream(handler, context, NDJSON, count="100", payloadSize="1000")
    assert response["statusCode"] == 200
    body = response_body(response)
    assert len(body) <= limit
    items = _items(response)
    assert 10 < len(items) < 100
    error = items[-1]["error"]
    assert error["code"] == Code.RESOURCE_EXHAUSTED
    assert "TRANSCODER_MAX_RESPONSE_BYTES (20000 bytes)" in error["message"]


def test_a_first_message_over_the_limit_is_a_502(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_response_bytes=5_000)
    response = _stream(handler, context, count="3", payloadSize="6000")
    assert response["statusCode"] == 502
    assert response_json(response)["code"] == Code.RESOURCE_EXHAUSTED


def test_a_unary_response_over_the_limit_is_a_502(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_response_bytes=5_000)
    body = json.dumps({"fString": "x" * 6_000})
    event = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", body=body)
    response = handler(event, context)
    assert response["statusCode"] == 502
    message = response_json(response)["message"]
    assert "exceeds TRANSCODER_MAX_RESPONSE_BYTES (5000 bytes)" in message


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        pytest.param("", StreamFormat.JSON_ARRAY, id="none"),
        pytest.param("*/*", StreamFormat.JSON_ARRAY, id="any"),
        pytest.param("text/html", StreamFormat.JSON_ARRAY, id="unsupported"),
        pytest.param("application/x-ndjson", StreamFormat.NDJSON, id="ndjson"),
        pytest.param("Application/NDJSON", StreamFormat.NDJSON, id="ndjson-alias"),
        pytest.param("text/event-stream", StreamFormat.SSE, id="sse"),
        pytest.param("application/json, text/event-stream", StreamFormat.JSON_ARRAY, id="first"),
        pytest.param("application/json;q=0.5, text/event-stream", StreamFormat.SSE, id="q"),
        pytest.param("text/event-stream;q=0", StreamFormat.JSON_ARRAY, id="q-zero"),
        pytest.param("text/event-stream;q=high", StreamFormat.JSON_ARRAY, id="q-invalid"),
        pytest.param("text/event-stream; charset=utf-8", StreamFormat.SSE, id="other-param"),
    ],
)
def test_negotiate(accept: str, chosen: StreamFormat) -> None:
    assert negotiate(accept) is chosen


def _encoder(stream_format: StreamFormat, max_bytes: int = 10_000) -> StreamEncoder:
    return StreamEncoder(
        stream_format,
        to_json=lambda data: {"n": int(data)},
        error_body=lambda error: json.dumps({"code": error.grpc_code}).encode(),
        max_bytes=max_bytes,
    )


def test_encoder_closes_the_stream_it_cuts_short() -> None:
    closed: list[bool] = []

    def messages() -> Iterator[bytes]:
        try:
            while True:
                yield b"1"
        finally:
            closed.append(True)

    encoded = _encoder(StreamFormat.JSON_ARRAY, max_bytes=ERROR_RESERVE_BYTES + 40).encode(
        messages()
    )
    assert closed == [True]
    assert encoded.error is not None
    assert json.loads(encoded.body)[-1] == {"error": {"code": Code.RESOURCE_EXHAUSTED}}


@pytest.mark.parametrize(
    ("stream_format", "body"),
    [
        pytest.param(StreamFormat.JSON_ARRAY, b"[]", id="json-array"),
        pytest.param(StreamFormat.NDJSON, b"", id="ndjson"),
        pytest.param(StreamFormat.SSE, b"", id="sse"),
    ],
)
def test_an_empty_stream(stream_format: StreamFormat, body: bytes) -> None:
    encoded = _encoder(stream_format).encode(iter(()))
    assert (encoded.body, encoded.count, encoded.error) == (body, 0, None)


def test_an_error_first_is_raised() -> None:
    def failing() -> Iterator[bytes]:
        yield from ()
        raise BackendError("gone", code=Code.NOT_FOUND)

    with pytest.raises(TranscoderError, match="gone"):
        _encoder(StreamFormat.NDJSON).encode(failing())


# -- request streams -------------------------------------------------------------------------


def _import(
    handler: Handler, context: LambdaContext, body: str, content_type: str = "application/json"
) -> dict[str, Any]:
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/books:import",
        body=body,
        headers=[("content-type", content_type)],
    )
    return handler(event, context)


@pytest.mark.parametrize(
    ("body", "content_type", "names"),
    [
        pytest.param(
            '[{"name": "shelves/fiction/books/a1", "title": "A"}, {"name": "shelves/science/books/b1"}]',
            "application/json",
            ["shelves/fiction/books/a1", "shelves/science/books/b1"],
            id="json-array",
        ),
        pytest.param(
            '{"name": "shelves/fiction/books/n1"}\n\n{"name": "shelves/fiction/books/n2"}\n',
            NDJSON,
            ["shelves/fiction/books/n1", "shelves/fiction/books/n2"],
            id="ndjson",
        ),
        pytest.param(
            '{"name": "shelves/fiction/books/o1"}',
            "application/json; charset=utf-8",
            ["shelves/fiction/books/o1"],
            id="one-object",
        ),
        pytest.param("[]", "application/json", [], id="empty-array"),
        pytest.param("", "", [], id="no-body"),
        pytest.param(
            '[{"name": "shelves/fiction/books/c1"}]',
            "application/x-www-form-urlencoded",
            ["shelves/fiction/books/c1"],
            id="curl-d-form-type",
        ),
        pytest.param(
            '[{"name": "shelves/fiction/books/t1"}]',
            "text/plain;charset=UTF-8",
            ["shelves/fiction/books/t1"],
            id="text-plain",
        ),
    ],
)
def test_client_stream(
    library_handler: Handler, context: LambdaContext, body: str, content_type: str, names: list[str]
) -> None:
    response = _import(library_handler, context, body, content_type)
    assert response["statusCode"] == 200, response["body"]
    result = response_json(response)
    assert result["names"] == names
    assert result["importedCount"] == len(names)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        pytest.param(
            '[{"name": "shelves/fiction/books/x"}, {"title": 7}]',
            "application/json",
            400,
            "request stream element 1",
            id="bad-element",
        ),
        pytest.param(
            '{"name": "a"}\n{oops\n', NDJSON, 400, "line 2 of the NDJSON body", id="bad-line"
        ),
        pytest.param("[1, ", "application/json", 400, "the body is not valid JSON", id="bad-json"),
        pytest.param("<books/>", "application/xml", 400, "not valid JSON", id="xml-read-as-json"),
        pytest.param(
            "\x00\x01", "application/octet-stream", 415, "application/x-ndjson", id="binary"
        ),
        pytest.param(
            '[{"name": "shelves/nowhere/books/x"}]',
            "application/json",
            400,
            "names no known shelf",
            id="backend-rejects",
        ),
    ],
)
def test_client_stream_errors(
    library_handler: Handler,
    context: LambdaContext,
    body: str,
    content_type: str,
    status: int,
    fragment: str,
) -> None:
    response = _import(library_handler, context, body, content_type)
    assert response["statusCode"] == status
    assert fragment in response_json(response)["message"]


def test_bad_element_names_the_field_in_the_details(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _import(library_handler, context, '[{}, {"pageCount": "many"}]')
    violations = response_json(response)["details"][0]["fieldViolations"]
    assert violations[0]["field"].startswith("[1]")


def test_request_stream_over_the_size_limit_is_a_413(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_request_bytes=100)
    body = json.dumps([{"name": f"shelves/fiction/books/{i}"} for i in range(10)])
    response = _import(handler, context, body)
    assert response["statusCode"] == 413
    assert "TRANSCODER_MAX_REQUEST_BYTES" in response_json(response)["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "accept"),
    [
        pytest.param('[{"text": "a"}, {"text": "b"}]', "application/json", "", id="json"),
        pytest.param('{"text": "a"}\n{"text": "b"}', NDJSON, NDJSON, id="ndjson"),
        pytest.param('[{"text": "a"}, {"text": "b"}]', "application/json", SSE, id="sse"),
    ],
)
def test_bidi_stream_half_duplex(
    library_handler: Handler, context: LambdaContext, body: str, content_type: str, accept: str
) -> None:
    headers = [("content-type", content_type)] + ([("accept", accept)] if accept else [])
    event = build(Source.REST_API, "POST", "/v1/debug:chat", body=body, headers=headers)
    response = library_handler(event, context)
    assert response["statusCode"] == 200
    assert _items(response) == [{"text": "a", "sequence": 1}, {"text": "b", "sequence": 2}]


@pytest.fixture(scope="module")
def transcoder() -> State:
    return runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", "127.0.0.1:1"),)).load()


def test_request_stream_with_a_body_field_and_query_bindings(transcoder: State) -> None:
    """A rule whose body is one field: each element fills that field; the query fills every message."""
    match = transcoder.routes.match("POST", "/v1/books:import")
    by_title = replace(match, route=replace(match.route, body="title"))
    request = HttpRequest(
        "POST",
        "/v1/books:import",
        query="name=shelves%2Ffiction%2Fbooks%2Fq",
        body=b'["One", "Two"]',
    )
    decoder = transcoder.decoder
    serialized = stream_decoding.decode(
        by_title, request, decoder=decoder, registry=transcoder.registry
    )
    book_class = transcoder.registry.message_class(match.route.method.input)
    books: list[Any] = [book_class.FromString(data) for data in serialized]
    assert [(b.title, b.name) for b in books] == [
        ("One", "shelves/fiction/books/q"),
        ("Two", "shelves/fiction/books/q"),
    ]
    bad = replace(request, body=b"[7]", query="")
    with pytest.raises(RequestError, match="request stream element 0"):
        stream_decoding.decode(by_title, bad, decoder=decoder, registry=transcoder.registry)


@pytest.mark.parametrize(
    ("use_proto_names", "payload"),
    [pytest.param(False, "p", id="json-names"), pytest.param(True, "p", id="proto-names")],
)
def test_response_body_selects_a_field_of_each_message(
    registry: Registry, transcoder: State, use_proto_names: bool, payload: str
) -> None:
    route = transcoder.routes.match("GET", "/v1/debug:stream").route
    with_body = replace(route, response_body="payload")
    codec = JsonCodec(registry.pool, JsonOptions(use_proto_names=use_proto_names))
    encoder = ResponseEncoder(registry, codec)
    item: Any = registry.message_class(route.method.output)(payload=payload, index=1)
    assert encoder.json_value(item, with_body) == payload
    assert encoder.json_value(item, route)["index"] == 1
    assert encoder.json_value(registry.message_class(route.method.output)(), with_body) == ""


def test_a_message_over_the_channel_limit_is_a_502(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_response_bytes=1000)  # the channel still takes 4 MiB
    response = _stream(handler, context, count="1", payloadSize=str(4_500_000))
    assert response["statusCode"] == 502
    body = response_json(response)
    assert body["code"] == Code.RESOURCE_EXHAUSTED
    assert body["message"].startswith("a message of library.v1.DebugService/Stream exceeds")
