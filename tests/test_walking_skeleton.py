"""End to end through the real handler: HTTP events in, the example backend's answer out."""

from __future__ import annotations

from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from tests.conftest import Handler
from tests.event_builder import Source, build, response_header, response_json


def test_get_with_a_path_variable(library_handler: Handler, context: LambdaContext) -> None:
    event = build(Source.HTTP_API, "GET", "/v1/shelves/fiction/books/dune")
    response = library_handler(event, context)
    assert response["statusCode"] == 200
    book = response_json(response)
    assert book["title"] == "Dune"
    assert book["isbn"] == "9780441172719"  # int64 as a string
    assert book["genre"] == "FICTION"


def test_post_with_a_body_field(library_handler: Handler, context: LambdaContext) -> None:
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/shelves",
        body='{"theme": "Poetry"}',
        headers=[("content-type", "application/json")],
    )
    response = library_handler(event, context)
    assert response["statusCode"] in (200, 201)
    shelf = response_json(response)
    assert shelf["theme"] == "Poetry"
    assert shelf["name"].startswith("shelves/")


def test_default_route_reaches_a_method_without_annotation(
    library_handler: Handler, context: LambdaContext
) -> None:
    event = build(Source.HTTP_API, "POST", "/library.v1.LibraryService/GetLibraryInfo", body="{}")
    response = library_handler(event, context)
    assert response["statusCode"] == 200
    assert response_json(response)["name"] == "Example library"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        pytest.param("GET", "/v2/nothing", None, 404, 5, id="unknown-route"),
        pytest.param("POST", "/v1/shelves", "{not json", 400, 3, id="bad-json"),
        pytest.param("GET", "/v1/authors/nobody", None, 404, 5, id="backend-not-found"),
    ],
)
def test_errors_have_the_one_shape(
    library_handler: Handler,
    context: LambdaContext,
    method: str,
    path: str,
    body: str | None,
    status: int,
    code: int,
) -> None:
    response = library_handler(build(Source.HTTP_API, method, path, body=body), context)
    assert response["statusCode"] == status
    assert response_header(response, "content-type") == "application/json"
    payload: dict[str, Any] = response_json(response)
    assert set(payload) == {"code", "message", "details"}
    assert payload["code"] == code
    assert payload["message"]
