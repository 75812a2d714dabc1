"""Every event source Lambda can put in front of the function, end to end through the handler.

REST API (payload 1.0), HTTP API (payload 2.0), Function URL and ALB in single- and multi-value
mode, built from the real payloads in tests/events/. Each test sends what the source sends for a
client request and reads what the client would get back, against a private example backend (the
tests change its state). Where a source changes the request, the test says what changes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading.registry import Registry
from tests.conftest import LIBRARY_SET, Handler, runtime_for
from tests.event_builder import Source, build, response_body, response_header, response_json

EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
# ALB in single-value mode keeps only the last of repeated query keys.
KEEPS_REPEATED_KEYS = [s for s in EVERY_SOURCE if s.values[0] is not Source.ALB]
# An HTTP API decodes the path (%2F included) before the function sees it.
KEEPS_PATH_ENCODING = [s for s in EVERY_SOURCE if s.values[0] is not Source.HTTP_API]
PNG = b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary, not UTF-8"


@pytest.fixture(scope="module")
def library(registry: Registry) -> Iterator[example_backend.RunningBackend]:
    running = example_backend.start("127.0.0.1:0", registry=registry)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def handler(library: example_backend.RunningBackend) -> Handler:
    runtime = runtime_for(
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", library.target),),
        forward_headers=frozenset({"cookie"}),
    )
    return make_handler(runtime)


def call(handler: Handler, context: LambdaContext, event: dict[str, Any]) -> dict[str, Any]:
    response = handler(event, context)
    assert isinstance(response["statusCode"], int)
    return response


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_get_with_a_path_variable(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = call(handler, context, build(source, "GET", "/v1/shelves/fiction/books/dune"))
    assert response["statusCode"] == 200, response_body(response)
    assert response_header(response, "content-type") == "application/json"
    assert response_json(response)["title"] == "Dune"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_json_body_sent_base64_encoded(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    # REST APIs with binary media types, and ALBs, base64-encode bodies; the body is the same.
    body = '{"fString": "caf\u00e9", "rInt64": ["1", "2"]}'.encode()
    event = build(
        source,
        "POST",
        "/v1/debug/kinds:echo",
        headers=[("Content-Type", "application/json; charset=utf-8")],
        body=body,
        binary=True,
    )
    assert event["isBase64Encoded"] is True
    response = call(handler, context, event)
    assert response["statusCode"] == 200, response_body(response)
    echoed = response_json(response)
    assert (echoed["fString"], echoed["rInt64"]) == ("caf\u00e9", ["1", "2"])


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_binary_body_reaches_an_http_body_field_unchanged(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    cover = "/v1/shelves/fiction/books/earthsea/cover"
    data = PNG + source.value.encode()
    upload = build(
        source, "PUT", cover, headers=[("Content-Type", "image/png")], body=data, binary=True
    )
    assert call(handler, context, upload)["statusCode"] == 200
    response = call(handler, context, build(source, "GET", cover))
    assert response["statusCode"] == 200, response_body(response)
    assert response_header(response, "content-type") == "image/png"
    assert response_body(response) == data


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_binary_response_comes_back_base64_encoded(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = call(handler, context, build(source, "GET", "/v1/shelves/fiction/books/dune/cover"))
    assert response["statusCode"] == 200, response_body(response)
    assert response_header(response, "content-type") == "image/png"
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x89PNG\r\n\x1a\n-dune-cover"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_form_body_fills_the_request_message(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    form = "fString=hello+world&rString=a&rString=b%26c&fEnum=HIGH&fNested.label=x%2Fy"
    event = build(
        source,
        "POST",
        "/v1/debug/kinds:echo",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=form,
    )
    response = call(handler, context, event)
    assert response["statusCode"] == 200, response_body(response)
    echoed = response_json(response)
    assert echoed["fString"] == "hello world"
    assert echoed["rString"] == ["a", "b&c"]
    assert echoed["fEnum"] == "HIGH"
    assert echoed["fNested"]["label"] == "x/y"


def _search(handler: Handler, context: LambdaContext, source: Source, **query: Any) -> Any:
    pairs = [(k, v) for k, values in query.items() for v in values]
    response = call(handler, context, build(source, "GET", "/v1/books:search", query=pairs))
    assert response["statusCode"] == 200, response_body(response)
    return response_json(response)


@pytest.mark.parametrize("source", KEEPS_REPEATED_KEYS)
def test_repeated_query_keys_fill_a_repeated_field(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    found = _search(handler, context, source, genres=["FICTION", "SCIENCE"])
    titles = {book["title"] for book in found["books"]}
    assert titles >= {"Dune", "A Wizard of Earthsea", "Cosmos"}


def test_an_alb_in_single_value_mode_keeps_only_the_last_repeated_key(
    handler: Handler, context: LambdaContext
) -> None:
    found = _search(handler, context, Source.ALB, genres=["FICTION", "SCIENCE"])
    assert {book["title"] for book in found["books"]} == {"Cosmos"}


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_query_values_are_decoded_once(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    found = _search(handler, context, source, query=["wizard of"], shelf=["shelves/fiction"])
    assert [book["title"] for book in found["books"]] == ["A Wizard of Earthsea"]


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_cookies_are_forwarded_as_one_header(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    # An HTTP API and a Function URL move cookies into a `cookies` list; the header comes back.
    event = build(
        source,
        "POST",
        "/v1/debug/metadata:echo",
        headers=[("Cookie", "session=abc123; theme=dark")],
        body="{}",
    )
    response = call(handler, context, event)
    assert response["statusCode"] == 200, response_body(response)
    received = {entry["key"]: entry.get("value") for entry in response_json(response)["received"]}
    assert received["cookie"] == "session=abc123; theme=dark"


@pytest.mark.parametrize("source", KEEPS_PATH_ENCODING)
def test_an_encoded_slash_stays_inside_one_path_variable(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    event = build(
        source, "PUT", "/v1/authors/le%20guin%2F2", body='{"displayName": "Ursula K. Le Guin"}'
    )
    response = call(handler, context, event)
    assert response["statusCode"] == 200, response_body(response)
    assert response_json(response)["id"] == "le guin/2"


def test_an_http_api_decodes_an_encoded_slash_into_a_path_separator(
    handler: Handler, context: LambdaContext
) -> None:
    event = build(Source.HTTP_API, "PUT", "/v1/authors/le%20guin%2F2", body='{"displayName": "X"}')
    assert event["rawPath"] == "/v1/authors/le guin/2"
    response = call(handler, context, event)
    assert response["statusCode"] == 404
    assert set(response_json(response)) == {"code", "message", "details"}


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_errors_keep_their_status_and_body_on_every_source(
    handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = call(handler, context, build(source, "GET", "/v1/authors/nobody"))
    assert response["statusCode"] == 404
    assert response_header(response, "content-type") == "application/json"
    assert response_json(response)["code"] == 5
