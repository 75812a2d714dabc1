"""Routing end to end: every rule of the example API through the real handler and backend.

Each case goes through REST API, HTTP API and Function URL events; the backend's answer shows
which method was called with which bindings. Percent-decoding cases show what each event source
keeps of the client's encoding.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from tests.conftest import Handler
from tests.event_builder import Source, build, response_body, response_header, response_json
from tests.support import answer

SOURCES = (Source.REST_API, Source.HTTP_API, Source.FUNCTION_URL)
_ids = itertools.count()


@pytest.fixture
def handler(make_library_handler: Callable[..., Handler]) -> Handler:
    return make_library_handler(metrics=False)


def call(
    handler: Handler,
    source: Source,
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: tuple[tuple[str, str], ...] = (),
    content_type: str = "application/json",
) -> tuple[int, Any]:
    headers = [("content-type", content_type)] if body is not None else []
    return answer(handler, build(source, method, path, query=query, headers=headers, body=body))


READ_CASES = [
    pytest.param("GET", "/v1/shelves", None, (), {"shelves"}, id="ListShelves"),
    pytest.param("GET", "/v1/shelves/fiction", None, (), {"theme": "Fiction"}, id="GetShelf"),
    pytest.param("GET", "/v1/shelves/science/books", None, (), {"books"}, id="ListBooks"),
    pytest.param(
        "GET", "/v1/shelves/fiction/books/dune", None, (), {"title": "Dune"}, id="GetBook"
    ),
    pytest.param(
        "GET",
        "/v1/shelves/fiction/books/dune/metadata",
        None,
        (),
        {"language": "en"},
        id="GetBookMetadata-response-body",
    ),
    pytest.param(
        "GET", "/v1/books:search", None, (("query", "cosmos"),), {"books"}, id="Search-get"
    ),
    pytest.param("POST", "/v1/books:search", '{"query": "dune"}', (), {"books"}, id="Search-post"),
    pytest.param(
        "GET",
        "/v1/shelves/science/books:search",
        None,
        (("query", "dune"),),
        {"totalSize": 0},  # Dune is on the fiction shelf: the binding limits the search
        id="Search-shelf-binding",
    ),
    pytest.param(
        "GET",
        "/v1/authors/ursula-le-guin",
        None,
        (),
        {"displayName": "Ursula K. Le Guin"},
        id="GetAuthor",
    ),
    pytest.param(
        "POST",
        "/library.v1.LibraryService/GetLibraryInfo",
        "{}",
        (),
        {"name": "Example library"},
        id="GetLibraryInfo-default-route",
    ),
    pytest.param(
        "POST", "/v1/debug/kinds:echo", '{"fString": "x"}', (), {"fString": "x"}, id="EchoKinds"
    ),
    pytest.param("GET", "/v1/debug:sleep", None, (), {"slept"}, id="Sleep"),
    pytest.param("POST", "/v1/debug/metadata:echo", "{}", (), {"received"}, id="EchoMetadata"),
    pytest.param("GET", "/v1/debug/ping", None, (), {"text": "pong"}, id="Ping-get"),
    pytest.param("PATCH", "/v1/debug/ping", None, (), {"text": "pong"}, id="Ping-any-method"),
    pytest.param("GET", "/v1/shelves/", None, (), {"shelves"}, id="trailing-slash"),
]


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
@pytest.mark.parametrize(("method", "path", "body", "query", "expected"), READ_CASES)
def test_rules_reach_their_method(
    handler: Handler,
    source: Source,
    method: str,
    path: str,
    body: str | None,
    query: tuple[tuple[str, str], ...],
    expected: set[str] | dict[str, Any],
) -> None:
    status, payload = call(handler, source, method, path, body=body, query=query)
    assert status == 200, payload
    if isinstance(expected, dict):
        assert expected.items() <= payload.items()
    else:
        assert expected <= set(payload)


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_the_http_body_rule_reaches_its_method(handler: Handler, source: Source) -> None:
    event = build(source, "GET", "/v1/shelves/fiction/books/dune/cover")
    response = handler(event, LambdaContext(timeout_ms=10_000))
    assert response["statusCode"] == 200
    assert response_header(response, "content-type") == "image/png"
    assert response_body(response).startswith(b"\x89PNG")


STREAM_CASES = [
    pytest.param("GET", "/v1/shelves/science/books:stream", None, (), "Cosmos", id="StreamBooks"),
    pytest.param("GET", "/v1/debug:stream", None, (("count", "2"),), 1, id="Stream"),
    pytest.param("POST", "/v1/debug:chat", '[{"text": "a"}]', (), "a", id="Chat"),
]


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
@pytest.mark.parametrize(("method", "path", "body", "query", "item"), STREAM_CASES)
def test_streaming_rules_reach_their_method(
    handler: Handler,
    source: Source,
    method: str,
    path: str,
    body: str | None,
    query: tuple[tuple[str, str], ...],
    item: Any,
) -> None:
    status, payload = call(handler, source, method, path, body=body, query=query)
    assert status == 200, payload
    assert any(item in message.values() for message in payload)


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_the_fail_rule_answers_with_the_backend_status(handler: Handler, source: Source) -> None:
    body = '{"code": 9, "message": "routed to Fail"}'
    status, payload = call(handler, source, "POST", "/v1/debug:fail", body=body)
    assert (status, payload["code"], payload["message"]) == (400, 9, "routed to Fail")


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_writing_rules_bind_their_path_variables(handler: Handler, source: Source) -> None:
    shelf, other, book = (f"routing-{next(_ids)}" for _ in range(3))
    steps: list[tuple[str, str, str | None, tuple[tuple[str, str], ...], dict[str, Any]]] = [
        (
            "POST",
            "/v1/shelves",
            '{"theme": "T"}',
            (("shelfId", shelf),),
            {"name": f"shelves/{shelf}"},
        ),
        ("POST", "/v1/shelves", "{}", (("shelfId", other),), {"name": f"shelves/{other}"}),
        (
            "POST",
            f"/v1/shelves/{shelf}/books",
            '{"title": "T"}',
            (("bookId", book),),
            {"name": f"shelves/{shelf}/books/{book}"},
        ),
        ("PATCH", f"/v1/shelves/{shelf}/books/{book}", '{"title": "U"}', (), {"title": "U"}),
        (
            "POST",
            f"/v1/shelves/{shelf}/books/{book}:move",
            f'{{"otherShelf": "shelves/{other}"}}',
            (),
            {"name": f"shelves/{other}/books/{book}"},
        ),
        ("DELETE", f"/v1/shelves/{other}/books/{book}", None, (), {}),
        ("DELETE", f"/v1/shelves/{shelf}", None, (), {}),
        ("PUT", f"/v1/authors/{shelf}", '{"displayName": "N"}', (), {"id": shelf}),
    ]
    for method, path, body, query, expected in steps:
        status, payload = call(handler, source, method, path, body=body, query=query)
        assert status in (200, 201), (method, path, payload)  # CreateShelf answers 201
        assert expected.items() <= (payload or {}).items(), (method, path, payload)


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_upload_book_cover_takes_the_raw_body(handler: Handler, source: Source) -> None:
    shelf = f"routing-{next(_ids)}"
    status, _ = call(handler, source, "POST", "/v1/shelves", body="{}", query=(("shelfId", shelf),))
    assert status == 201
    query = (("bookId", "covered"),)
    status, _ = call(handler, source, "POST", f"/v1/shelves/{shelf}/books", body="{}", query=query)
    assert status == 200
    path = f"/v1/shelves/{shelf}/books/covered/cover"
    status, payload = call(
        handler, source, "PUT", path, body="<svg/>", content_type="image/svg+xml"
    )
    assert (status, payload["name"]) == (200, f"shelves/{shelf}/books/covered")


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_import_books_reaches_the_client_streaming_method(handler: Handler, source: Source) -> None:
    shelf = f"routing-{next(_ids)}"
    status, _ = call(handler, source, "POST", "/v1/shelves", body="{}", query=(("shelfId", shelf),))
    assert status == 201
    name = f"shelves/{shelf}/books/imported"
    body = f'[{{"name": "{name}", "title": "Imported"}}]'
    status, payload = call(handler, source, "POST", "/v1/books:import", body=body)
    assert (status, payload["names"]) == (200, [name])


@pytest.mark.parametrize(
    ("source", "path", "status", "message"),
    [
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/authors/a%2Fb",
            404,
            "author 'a/b' not found",
            id="function-url-single-segment-decodes-slash",
        ),
        pytest.param(
            Source.REST_API,
            "/v1/authors/a%2Fb",
            404,
            "author 'a/b' not found",
            id="rest-api-single-segment-decodes-slash",
        ),
        pytest.param(
            Source.HTTP_API,
            "/v1/authors/a%2Fb",
            404,
            "no route for GET /v1/authors/a/b",
            id="http-api-decodes-before-lambda",
        ),
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/shelves/a%2Fb",
            404,
            "shelf 'shelves/a%2Fb' not found",
            id="function-url-multi-segment-keeps-slash-encoded",
        ),
        pytest.param(
            Source.ALB,
            "/v1/shelves/a%2Fb",
            404,
            "shelf 'shelves/a%2Fb' not found",
            id="alb-multi-segment-keeps-slash-encoded",
        ),
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/authors/ursula%2Dle%2Dguin",
            200,
            None,
            id="unreserved-escapes-decode",
        ),
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/shelves/%66iction/books/dune",
            200,
            None,
            id="multi-segment-decodes-unreserved",
        ),
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/authors/x:other",
            404,
            "author 'x:other' not found",
            id="unregistered-verb-stays-in-the-value",
        ),
        pytest.param(
            Source.FUNCTION_URL,
            "/v1/authors/caf%E9",
            400,
            "id: the path segment caf%E9 is not UTF-8 once percent-decoded",
            id="not-utf8",
        ),
    ],
)
def test_percent_decoding_per_event_source(
    handler: Handler, source: Source, path: str, status: int, message: str | None
) -> None:
    got, payload = call(handler, source, "GET", path)
    assert got == status, payload
    if message is not None:
        assert payload["message"] == message


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_an_unknown_path_is_404_in_the_error_shape(handler: Handler, source: Source) -> None:
    status, payload = call(handler, source, "GET", "/v2/nothing")
    assert status == 404
    assert payload == {"code": 5, "message": "no route for GET /v2/nothing", "details": []}


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_another_method_is_405_with_allow(handler: Handler, source: Source) -> None:
    event = build(source, "DELETE", "/v1/shelves")
    response = handler(event, LambdaContext(timeout_ms=10_000))
    assert response["statusCode"] == 405
    assert response_header(response, "allow") == "GET, HEAD, POST"
    assert response_json(response) == {
        "code": 12,
        "message": "DELETE is not allowed on /v1/shelves; use GET, HEAD, POST",
        "details": [],
    }


@pytest.mark.parametrize("source", SOURCES, ids=[s.value for s in SOURCES])
def test_head_follows_get(handler: Handler, source: Source) -> None:
    get = handler(build(source, "GET", "/v1/shelves/fiction"), LambdaContext(10_000))
    response = handler(build(source, "HEAD", "/v1/shelves/fiction"), LambdaContext(10_000))
    assert response["statusCode"] == 200
    assert response_body(response) == b""
    assert response_header(response, "content-length") == str(len(response_body(get)))


@pytest.mark.parametrize(
    ("source", "path", "status"),
    [
        pytest.param(Source.REST_API, "/library/v1/shelves/fiction", 200, id="rest-under-base"),
        pytest.param(Source.HTTP_API, "/library/v1/shelves/fiction", 200, id="http-under-base"),
        pytest.param(Source.FUNCTION_URL, "/v1/shelves/fiction", 404, id="outside-base"),
    ],
)
def test_the_base_path_is_stripped(
    make_library_handler: Callable[..., Handler], source: Source, path: str, status: int
) -> None:
    handler = make_library_handler(metrics=False, base_path="/library")
    got, payload = call(handler, source, "GET", path)
    assert got == status, payload
    if status == 404:
        assert payload["message"].endswith("outside the base path /library")
