"""Response encoding: proto3 JSON of the whole message or of its response_body field, and raw
google.api.HttpBody bytes, first on plain values, then through the handler with API Gateway
REST and HTTP API events (binary bodies base64 with isBase64Encoded, JSON as text).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.encoding import unary as response_encoding
from grpc_transcoder.encoding.unary import Body
from grpc_transcoder.json.codec import JsonCodec, JsonEncodeError, JsonOptions
from grpc_transcoder.loading.registry import Registry, RuleOrigin
from grpc_transcoder.routing import templates as path_template
from grpc_transcoder.routing.table import Route
from tests.conftest import Handler
from tests.event_builder import Source, build, response_body, response_header, response_json

GET_BOOK = "/library.v1.LibraryService/GetBook"
PNG = b"\x89PNG\r\n\x1a\n-dune-cover"


def route_for(registry: Registry, output: str, response_body: str = "") -> Route:
    """A GET route of GetBook answering with `output` (any message type) and `response_body`."""
    method = dataclasses.replace(
        registry.methods[GET_BOOK], output=registry.pool.FindMessageTypeByName(output)
    )
    template = path_template.parse("/v1/test")
    return Route("GET", template, method, "", response_body, RuleOrigin.ANNOTATION)


def book(registry: Registry) -> Any:
    message: Any = registry.new_message("library.v1.Book")
    message.name = "shelves/s/books/b"
    message.authors.extend(["A", "B"])
    message.genre = 2
    message.isbn = 9780441172719
    message.labels["series"] = "dune"
    message.reviews.add(reader="r", stars=5)
    message.publish_time.FromSeconds(0)
    message.edition.value = 3
    message.thumbnail = b"\x00\xff"
    message.metadata.update({"awards": ["Hugo"]})
    return message


def encode(registry: Registry, route: Route, message: Any, **options: bool) -> Any:
    codec = JsonCodec(registry.pool, JsonOptions(**options))
    encoder = response_encoding.ResponseEncoder(registry, codec)
    return encoder.unary(route, message.SerializeToString())


def test_the_whole_message_prints_fields_without_presence_at_zero(registry: Registry) -> None:
    reply = encode(registry, route_for(registry, "library.v1.Book"), book(registry))
    assert reply.status == 200
    assert reply.content_type == "application/json"
    value = orjson.loads(reply.body)
    assert value["pageCount"] == 0  # zero, yet printed (grpc-gateway's default)
    assert value["title"] == ""
    assert "subtitle" not in value  # `optional`: has presence, unset
    assert "updateTime" not in value  # an unset message field
    assert value["isbn"] == "9780441172719"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("authors", ["A", "B"], id="repeated-string"),
        pytest.param("isbn", "9780441172719", id="int64-as-string"),
        pytest.param("genre", "NON_FICTION", id="enum-name"),
        pytest.param("page_count", 0, id="zero-scalar"),
        pytest.param("labels", {"series": "dune"}, id="map"),
        pytest.param("reviews", [{"reader": "r", "stars": 5, "text": ""}], id="repeated-message"),
        pytest.param("subtitle", None, id="unset-optional-is-null"),
        pytest.param("update_time", None, id="unset-message-is-null"),
        pytest.param("publish_time", "1970-01-01T00:00:00Z", id="timestamp"),
        pytest.param("edition", 3, id="wrapper"),
        pytest.param("thumbnail", "AP8=", id="bytes-base64"),
        pytest.param("metadata", {"awards": ["Hugo"]}, id="struct"),
    ],
)
def test_response_body_answers_with_just_that_field(
    registry: Registry, field: str, expected: Any
) -> None:
    reply = encode(registry, route_for(registry, "library.v1.Book", field), book(registry))
    assert reply.content_type == "application/json"
    assert orjson.loads(reply.body) == expected


def test_response_body_prints_a_zero_field_even_when_unpopulated_fields_are_omitted(
    registry: Registry,
) -> None:
    route = route_for(registry, "library.v1.Book", "page_count")
    reply = encode(registry, route, book(registry), omit_unpopulated=True)
    assert orjson.loads(reply.body) == 0
    whole = encode(
        registry, route_for(registry, "library.v1.Book"), book(registry), omit_unpopulated=True
    )
    assert "pageCount" not in orjson.loads(whole.body)


def test_response_body_follows_the_printing_options(registry: Registry) -> None:
    route = route_for(registry, "library.v1.Book", "reviews")
    reply = encode(registry, route, book(registry), use_proto_names=True, enums_as_ints=True)
    assert orjson.loads(reply.body) == [{"reader": "r", "stars": 5, "text": ""}]
    genre = encode(
        registry,
        route_for(registry, "library.v1.Book", "genre"),
        book(registry),
        enums_as_ints=True,
    )
    assert orjson.loads(genre.body) == 2


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        pytest.param("image/png", "image/png", id="its-own-type"),
        pytest.param("", "application/octet-stream", id="untyped-is-octet-stream"),
    ],
)
def test_an_http_body_response_is_its_raw_bytes(
    registry: Registry, content_type: str, expected: str
) -> None:
    message: Any = registry.new_message("google.api.HttpBody")
    message.content_type, message.data = content_type, PNG
    reply = encode(registry, route_for(registry, "google.api.HttpBody"), message)
    assert (reply.status, reply.body, reply.content_type) == (200, PNG, expected)


def test_a_response_body_naming_an_http_body_field_answers_raw_bytes(registry: Registry) -> None:
    message: Any = registry.new_message("library.v1.UploadBookCoverRequest")
    message.name = "ignored: only the cover is sent"
    message.cover.content_type, message.cover.data = "text/csv", b"a,b\n1,2\n"
    route = route_for(registry, "library.v1.UploadBookCoverRequest", "cover")
    reply = encode(registry, route, message)
    assert (reply.body, reply.content_type) == (b"a,b\n1,2\n", "text/csv")


def test_plans_are_computed_once_per_type_and_field(registry: Registry) -> None:
    book_type = registry.pool.FindMessageTypeByName("library.v1.Book")
    first = response_encoding.plan(book_type, "metadata")
    assert first.body is Body.FIELD
    assert first.field is not None
    assert first.field.name == "metadata"
    assert response_encoding.plan(book_type, "").body is Body.MESSAGE


def test_the_json_value_is_the_json_the_route_answers_with(registry: Registry) -> None:
    encoder = response_encoding.ResponseEncoder(registry, JsonCodec(registry.pool, JsonOptions()))
    route = route_for(registry, "library.v1.Book", "labels")
    assert encoder.json_value(book(registry), route) == {"series": "dune"}
    assert encoder.plan(route) is encoder.plan(route)  # once per type and field


def test_a_response_json_cannot_carry_is_an_internal_error_naming_the_field(
    registry: Registry,
) -> None:
    message = book(registry)
    message.metadata.fields["bad"].number_value = float("nan")
    with pytest.raises(JsonEncodeError) as raised:
        encode(registry, route_for(registry, "library.v1.Book"), message)
    assert raised.value.status == 500
    assert raised.value.field_path == 'metadata["bad"]'
    assert "NaN" in raised.value.message or "nan" in raised.value.message


# -- through the handler ------------------------------------------------------------------

API_GATEWAY = [
    pytest.param(Source.HTTP_API, id="http-api"),
    pytest.param(Source.REST_API, id="rest-api"),
]


@pytest.mark.parametrize("source", API_GATEWAY)
def test_an_http_body_goes_out_base64_with_its_content_type(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = library_handler(
        build(source, "GET", "/v1/shelves/fiction/books/dune/cover"), context
    )
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response_header(response, "content-type") == "image/png"
    assert base64.b64decode(response["body"]) == PNG


@pytest.mark.parametrize("source", API_GATEWAY)
def test_json_goes_out_as_text(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = library_handler(build(source, "GET", "/v1/shelves/fiction/books/dune"), context)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response_header(response, "content-type") == "application/json"
    book_json = orjson.loads(response["body"])
    assert book_json["title"] == "Dune"
    assert book_json["reviews"] == []  # printed although empty
    assert book_json["thumbnail"] == ""


@pytest.mark.parametrize("source", API_GATEWAY)
def test_a_response_body_rule_answers_with_the_field_alone(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    path = "/v1/shelves/fiction/books/dune/metadata"
    response = library_handler(build(source, "GET", path), context)
    assert response["statusCode"] == 200
    assert response_json(response) == {"language": "en", "awards": ["Hugo"]}


@pytest.mark.parametrize(
    ("settings", "check"),
    [
        pytest.param(
            {"json_use_proto_names": True},
            lambda book: book["page_count"] == 412 and "pageCount" not in book,
            id="proto-names",
        ),
        pytest.param(
            {"json_omit_unpopulated": True},
            lambda book: "reviews" not in book and "thumbnail" not in book,
            id="omit-unpopulated",
        ),
        pytest.param(
            {"json_enums_as_ints": True}, lambda book: book["genre"] == 1, id="enums-as-ints"
        ),
    ],
)
def test_the_printing_settings_shape_the_answer(
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    settings: dict[str, bool],
    check: Callable[[dict[str, Any]], bool],
) -> None:
    handler = make_library_handler(**settings)
    response = handler(build(Source.HTTP_API, "GET", "/v1/shelves/fiction/books/dune"), context)
    assert response["statusCode"] == 200, response_body(response)
    assert check(response_json(response))
