"""OpenAPI: the document generated from the descriptors, validated, served and printed."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_transcoder_tools import cli, cli_openapi
from grpc_transcoder_tools.local_server import LambdaContext
from hypothesis import given
from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.registry import HttpRule, Registry, RuleOrigin
from grpc_transcoder.reserved.openapi import comments as openapi_comments
from grpc_transcoder.reserved.openapi import document as openapi
from grpc_transcoder.reserved.openapi import paths as openapi_paths
from grpc_transcoder.reserved.openapi import schemas as openapi_schemas
from grpc_transcoder.routing import templates as path_template
from grpc_transcoder.routing.table import Route, RuleError, compile_rule, routes_for
from grpc_transcoder.settings import ErrorFormat, UnknownFields, load
from tests.conftest import LIBRARY_SET, Handler
from tests.event_builder import Source, build, response_header, response_json

OPENAPI_PATH = "/openapi.json"
LIBRARY_DOCUMENT = openapi.document(
    routes_for(descriptors.build(descriptor_source.read_all([str(LIBRARY_SET)])))[0]
)


@pytest.fixture(scope="module")
def comments() -> dict[str, str]:
    return openapi_comments.comments(
        blob.data for blob in descriptor_source.read_all([str(LIBRARY_SET)])
    )


@pytest.fixture(scope="module")
def library_routes(registry: Registry) -> list[Route]:
    return routes_for(registry)[0]


@pytest.fixture(scope="module")
def document(library_routes: list[Route], comments: dict[str, str]) -> dict[str, Any]:
    return openapi.document(library_routes, comments=comments)


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """An OpenAPI 3.1 schema validator for `schema`, resolving refs into the components."""
    return OAS31Validator({**schema, "components": document["components"]})


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


@pytest.mark.parametrize(
    ("template", "path"),
    [
        pytest.param("/v1/shelves", "/v1/shelves", id="literal"),
        pytest.param("/v1/authors/{id}", "/v1/authors/{id}", id="single-segment"),
        pytest.param("/v1/{name=shelves/*}", "/v1/shelves/{shelves_id}", id="multi-segment"),
        pytest.param(
            "/v1/{name=shelves/*/books/*}:move",
            "/v1/shelves/{shelves_id}/books/{books_id}:move",
            id="with-verb",
        ),
        pytest.param("/v1/{path=files/**}", "/v1/files/{files_path}", id="deep"),
        pytest.param("/v1/{name=**}", "/v1/{name}", id="only-deep"),
        pytest.param("/v1/{a}/x/{b=c/*}/y", "/v1/{a}/x/c/{c_id}/y", id="two-variables"),
        pytest.param("/v1/{name=a.b/*}", "/v1/a.b/{a_b_id}", id="dotted-literal"),
        pytest.param("/v1/{name=*/items/*}", "/v1/{name}/items/{items_id}", id="leading-star"),
        pytest.param("/v1/{a=x/*}/{b=x/*}", "/v1/x/{x_id}/x/{x_id_2}", id="repeated-literal"),
        pytest.param("/v1/{book.name}", "/v1/{book_name}", id="nested-field"),
        pytest.param("/", "/", id="root"),
    ],
)
def test_openapi_paths_spell_out_patterns(template: str, path: str) -> None:
    parsed = path_template.parse(template)
    assert openapi_paths.render(parsed, openapi_paths.own_names(parsed)) == path


@pytest.mark.parametrize(
    "template", [pytest.param("/v1/*/x", id="wildcard"), pytest.param("/v1/**", id="deep")]
)
def test_wildcards_outside_variables_cannot_be_described(template: str) -> None:
    with pytest.raises(openapi_paths.UnrepresentableRoute, match="outside a variable"):
        openapi_paths.shape(path_template.parse(template))


@given(st.lists(st.text(st.characters(exclude_characters="/"), min_size=1), min_size=2, max_size=2))
def test_each_segment_parameter_takes_any_segment(segments: list[str]) -> None:
    path = "/v1/shelves/{shelves_id}/books/{books_id}"
    parameters = LIBRARY_DOCUMENT["paths"][path]["get"]["parameters"][:2]
    for parameter, segment in zip(parameters, segments, strict=True):
        assert re.fullmatch(parameter["schema"]["pattern"], segment, flags=re.DOTALL)


def test_templates_of_one_shape_share_one_path(document: dict[str, Any]) -> None:
    paths = document["paths"]
    # GetShelf, DeleteShelf: `{name=shelves/*}`; GetBook, DeleteBook and UpdateBook's
    # `{book.name=shelves/*/books/*}` share the book's path and its parameter names.
    assert set(paths["/v1/shelves/{shelves_id}"]) == {"get", "delete"}
    assert set(paths["/v1/shelves/{shelves_id}/books/{books_id}"]) == {"get", "delete", "patch"}
    book = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}", "get")
    shelf_id, book_id = book["parameters"][:2]
    assert (shelf_id["name"], book_id["name"]) == ("shelves_id", "books_id")
    assert shelf_id["schema"] == {"type": "string", "pattern": "^[^/]+$"}
    spelled = "`shelves/{shelves_id}/books/{books_id}`"
    assert f"Part of `name`, which this route sets to {spelled}" in book_id["description"]
    update = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}", "patch")
    assert (
        f"Part of `book.name`, which this route sets to {spelled}"
        in (update["parameters"][0]["description"])
    )


def _shape_of(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_no_two_paths_differ_only_in_parameter_names(document: dict[str, Any]) -> None:
    shapes = [_shape_of(path) for path in document["paths"]]
    assert len(shapes) == len(set(shapes))


def test_many_overlapping_templates_give_distinct_paths(registry: Registry) -> None:
    method = registry.methods["/library.v1.LibraryService/GetBook"]
    templates = [
        "/v1/{name}",
        "/v1/shelves/{shelves_id}/books/{books_id}",
        "/v1/{name=shelves/*}",
        "/v1/{name=shelves/*/books/*}",
        "/v1/shelves/{name}",
        "/v1/shelves/{name}/books/{name}",
        "/v1/{name=shelves/*}/books/{name}",
        "/v1/{name=authors/*}",
        "/v1/{name=**}",
        "/v1/{name=files/**}",
        "/v1/{name=*/x}:verb",
        "/v1/{name}/x:verb",
        "/v2/{name=a/*/b/*/c/*}",
        "/v2/a/{name}/b/{name}/c/{name}",
    ]
    routes = []
    for method_name in ("GET", "PUT", "DELETE"):
        for template in templates:
            try:
                routes.append(compile_rule(method, HttpRule(method_name, template)))
            except RuleError:  # a template the router refuses (a variable bound twice)
                continue
    document = openapi.document(routes)
    validate(document)
    shapes = [_shape_of(path) for path in document["paths"]]
    assert len(shapes) == len(set(shapes)) >= 7
    for path, item in document["paths"].items():
        declared = sorted(re.findall(r"\{([^}]*)\}", path))
        for operation_ in item.values():
            named = sorted(p["name"] for p in operation_["parameters"] if p["in"] == "path")
            assert named == declared, (path, operation_["operationId"])


def test_nested_path_fields_are_flattened(document: dict[str, Any]) -> None:
    update = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}", "patch")
    (*path, query) = update["parameters"]
    assert [p["in"] for p in path] == ["path", "path"]
    assert "`book.name`" in path[0]["description"]
    assert query["name"] == "updateMask"
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert "name" not in body["properties"]  # the path sets it
    assert "title" in body["properties"]


def test_query_parameters_are_the_fields_path_and_body_leave(document: dict[str, Any]) -> None:
    search = operation(document, "/v1/books:search", "get")
    parameters = {p["name"]: p for p in search["parameters"]}
    assert list(parameters) == [
        "query",
        "shelf",
        "genres",
        "publishedAfter",
        "labels",
        "minRating",
        "pageSize",
    ]
    assert all(p["in"] == "query" for p in parameters.values())
    assert parameters["genres"]["schema"]["type"] == "array"
    assert parameters["labels"]["style"] == "deepObject"
    assert parameters["publishedAfter"]["schema"]["format"] == "date-time"
    assert parameters["query"]["description"] == "Words that must appear in the title."
    scoped = operation(document, "/v1/shelves/{shelves_id}/books:search", "get")["parameters"]
    assert [p["name"] for p in scoped if p["in"] == "query"].count("shelf") == 0
    assert "parameters" not in operation(document, "/v1/books:search", "post")


def test_query_parameters_nest_with_dots_and_stop_at_recursion(registry: Registry) -> None:
    method = registry.methods["/library.v1.DebugService/EchoKinds"]
    route = compile_rule(method, HttpRule("GET", "/kinds"))
    document = openapi.document([route])
    names = [p["name"] for p in operation(document, "/kinds", "get")["parameters"]]
    assert "fNested.label" in names
    assert "fNested.count" in names
    assert not any(name.startswith("fNested.child") for name in names)  # Kinds again
    assert "wTimestamp" in names
    assert "wStruct" in names
    assert "wAny" not in names  # cannot be written in a query string
    assert "rNested" not in names  # repeated messages cannot either
    assert "mString" in names


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("fInt64", {"type": "string", "format": "int64"}, id="int64"),
        pytest.param("fUint64", {"type": "string", "format": "uint64"}, id="uint64"),
        pytest.param("fInt32", {"type": "integer", "format": "int32"}, id="int32"),
        pytest.param("fBool", {"type": "boolean"}, id="bool"),
        pytest.param("fBytes", {"type": "string", "contentEncoding": "base64"}, id="bytes"),
        pytest.param("wTimestamp", {"type": "string", "format": "date-time"}, id="timestamp"),
        pytest.param("wDuration", {"type": "string"}, id="duration"),
        pytest.param("wInt64Value", {"type": "string", "format": "int64"}, id="int64-wrapper"),
        pytest.param("wBoolValue", {"type": "boolean"}, id="bool-wrapper"),
        pytest.param("wStruct", {"type": "object"}, id="struct"),
        pytest.param("wListValue", {"type": "array"}, id="list-value"),
        pytest.param("wNull", {"type": "null"}, id="null-value"),
        pytest.param("rInt64", {"type": "array"}, id="repeated"),
        pytest.param(
            "mInt32", {"type": "object", "propertyNames": {"pattern": "^-?[0-9]+$"}}, id="map"
        ),
        pytest.param("mBool", {"propertyNames": {"enum": ["true", "false"]}}, id="map-bool-keys"),
        pytest.param("customJSONName", {"type": "string"}, id="json-name"),
        pytest.param("fEnum", {"$ref": "#/components/schemas/library.v1.Kinds.Level"}, id="enum"),
    ],
)
def test_field_schemas_follow_the_json_mapping(
    document: dict[str, Any], field: str, expected: dict[str, Any]
) -> None:
    kinds = document["components"]["schemas"]["library.v1.Kinds"]
    assert expected.items() <= kinds["properties"][field].items()


def test_enums_are_names_and_oneofs_exclusive(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["library.v1.Genre"]["enum"][:2] == ["GENRE_UNSPECIFIED", "FICTION"]
    book = validator(document, {"$ref": "#/components/schemas/library.v1.Book-Input"})
    assert book.is_valid({"publisher": "Chilton"})
    assert not book.is_valid({"publisher": "Chilton", "selfPublished": True})
    assert not book.is_valid({"unknownField": 1})  # requests: unknown fields are rejected
    # Responses accept properties a newer descriptor set may add.
    answer = validator(document, {"$ref": "#/components/schemas/library.v1.Book"})
    assert answer.is_valid({"publisher": "Chilton", "addedLater": 1})
    assert not answer.is_valid({"publisher": "Chilton", "selfPublished": True})
    kinds = validator(document, {"$ref": "#/components/schemas/library.v1.Kinds"})
    assert kinds.is_valid({"fDouble": "NaN", "fInt64": "-9", "fBytes": "AQID", "wValue": None})
    assert not kinds.is_valid({"fInt64": 9})
    assert not kinds.is_valid({"cString": "a", "cInt64": "1"})


def test_options_follow_the_settings(library_routes: list[Route]) -> None:
    configured = load(
        {},
        json_use_proto_names=True,
        json_enums_as_ints=True,
        unknown_json_fields=UnknownFields.IGNORE,
        error_format=ErrorFormat.GOOGLE,
        base_path="/prod",
    )
    document = openapi.document(library_routes, options=openapi.options_for(configured))
    validate(document)
    schemas = document["components"]["schemas"]
    assert "page_count" in schemas["library.v1.Book"]["properties"]
    assert "additionalProperties" not in schemas["library.v1.Book"]
    assert schemas["library.v1.Genre"] == {"type": "integer", "enum": [0, 1, 2, 3, 4]}
    error = document["components"]["responses"]["Error"]["content"]["application/json"]
    assert error["schema"]["$ref"].endswith(openapi_schemas.GOOGLE_ERROR_SCHEMA)
    assert schemas["StreamError"]["properties"]["error"]["properties"]["status"]["type"] == "string"
    assert document["servers"] == [{"url": "/prod"}]


def test_bodies_and_responses(document: dict[str, Any]) -> None:
    create = operation(document, "/v1/shelves", "post")
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/library.v1.Shelf-Input"
    answer = create["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"] == "#/components/schemas/library.v1.Shelf"
    responses = create["responses"]
    assert set(responses) == {"200", "2XX", "default"}
    assert responses["default"] == {"$ref": "#/components/responses/Error"}
    metadata = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}/metadata", "get")[
        "responses"
    ]["200"]
    schema = metadata["content"]["application/json"]["schema"]
    assert schema["anyOf"][1] == {"type": "null"}  # response_body of an unset message field
    cover = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}/cover", "get")[
        "responses"
    ]["200"]["content"]
    assert list(cover) == ["*/*"]  # google.api.HttpBody: raw bytes
    upload = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}/cover", "put")[
        "requestBody"
    ]["content"]
    assert list(upload) == ["*/*"]
    stream = operation(document, "/v1/shelves/{shelves_id}/books:stream", "get")["responses"]["200"]
    assert set(stream["content"]) == {
        "application/json",
        "application/x-ndjson",
        "text/event-stream",
    }
    assert stream["content"]["application/json"]["schema"]["type"] == "array"
    imports = operation(document, "/v1/books:import", "post")["requestBody"]["content"]
    assert imports["application/json"]["schema"]["type"] == "array"  # client streaming


def test_every_usual_method_for_a_custom_star_rule(document: dict[str, Any]) -> None:
    ping = document["paths"]["/v1/debug/ping"]
    assert set(ping) == set(openapi.ANY_METHOD)
    ids = {item["operationId"] for item in ping.values()}
    assert len(ids) == len(openapi.ANY_METHOD)


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "library.v1.LibraryService.SearchBooks_2" in ids  # an additional binding
    assert "library.v1.LibraryService.GetShelf_default" in ids


def test_comments_become_descriptions(document: dict[str, Any]) -> None:
    tags = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    assert tags["library.v1.LibraryService"] == "Manages shelves and the books on them."
    get_book = operation(document, "/v1/shelves/{shelves_id}/books/{books_id}", "get")
    assert get_book["summary"] == "Returns one book."
    assert "`/library.v1.LibraryService/GetBook`" in get_book["description"]
    genre = document["components"]["schemas"]["library.v1.Genre"]
    assert genre["description"] == "The genre of a book."


def test_without_comments_the_method_name_is_the_summary(library_routes: list[Route]) -> None:
    document = openapi.document(library_routes)
    assert (
        operation(document, "/v1/shelves/{shelves_id}/books/{books_id}", "get")["summary"]
        == "GetBook"
    )
    assert document["info"]["version"] == "unversioned"
    assert document["info"]["title"] == "library.v1 API"


def test_comments_of_unreadable_sets_are_empty(caplog: pytest.LogCaptureFixture) -> None:
    assert openapi_comments.comments([b"\xff\xff not a set"]) == {}
    caplog.set_level(logging.WARNING, logger="grpc_transcoder.reserved.openapi.document")
    assert openapi.source_comments(["/nowhere/at/all.binpb"]) == {}
    assert "without descriptions" in caplog.text


def test_unrepresentable_and_shadowed_routes_are_left_out(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    method = registry.methods["/library.v1.DebugService/Ping"]
    routes = [
        compile_rule(method, HttpRule("LIST", "/v1/things")),
        compile_rule(method, HttpRule("GET", "/v1/*/x")),
        compile_rule(method, HttpRule("GET", "/v1/ping")),
        Route("GET", path_template.parse("/v1/ping"), method, "", "", RuleOrigin.ANNOTATION),
    ]
    caplog.set_level(logging.WARNING, logger="grpc_transcoder.reserved.openapi.document")
    document = openapi.document(routes)
    assert list(document["paths"]) == ["/v1/ping"]
    assert "no operation for method 'LIST'" in caplog.text
    assert "outside a variable" in caplog.text
    assert "shadowed" in caplog.text


def test_real_responses_match_their_schemas(
    library_handler: Handler, context: LambdaContext, document: dict[str, Any]
) -> None:
    for path, template in [
        ("/v1/shelves/fiction/books/dune", "/v1/shelves/{shelves_id}/books/{books_id}"),
        ("/v1/shelves", "/v1/shelves"),
        ("/v1/books:search", "/v1/books:search"),
    ]:
        response = library_handler(build(Source.HTTP_API, "GET", path), context)
        schema = operation(document, template, "get")["responses"]["200"]["content"]
        validator(document, schema["application/json"]["schema"]).validate(response_json(response))
    missing = library_handler(build(Source.HTTP_API, "GET", "/v1/authors/nobody"), context)
    error = document["components"]["responses"]["Error"]["content"]["application/json"]
    validator(document, error["schema"]).validate(response_json(missing))


def test_served_at_the_configured_path(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(openapi_path=OPENAPI_PATH)
    response = handler(build(Source.REST_API, "GET", OPENAPI_PATH), context)
    assert response["statusCode"] == 200
    assert response_header(response, "content-type") == "application/json"
    served = response_json(response)
    validate(served)
    assert served["tags"][1]["description"] == "Manages shelves and the books on them."
    again = handler(build(Source.HTTP_API, "GET", OPENAPI_PATH), context)
    assert response_json(again) == served
    posted = handler(build(Source.HTTP_API, "POST", OPENAPI_PATH), context)
    assert posted["statusCode"] == 405
    assert (
        make_library_handler()(build(Source.HTTP_API, "GET", OPENAPI_PATH), context)["statusCode"]
        == 404
    )


def test_cli_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["openapi", str(LIBRARY_SET), "--title", "Library", "--server", "/v"]) == 0
    printed = json.loads(capsys.readouterr().out)
    validate(printed)
    assert printed["info"]["title"] == "Library"
    assert printed["servers"] == [{"url": "/v"}]
    assert printed["tags"][1]["description"] == "Manages shelves and the books on them."


def test_cli_writes_a_file_and_reports_bad_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "openapi.json"
    assert cli.main(["openapi", str(LIBRARY_SET), "--no-default-routes", "-o", str(out)]) == 0
    written = json.loads(out.read_text())
    assert "/library.v1.LibraryService/GetShelf" not in written["paths"]
    assert cli.main(["openapi", str(tmp_path / "missing.binpb")]) == 2
    assert "grpc-transcoder openapi:" in capsys.readouterr().err


def test_build_document_takes_the_settings_when_options_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRANSCODER_DEFAULT_ROUTES", "false")
    monkeypatch.setenv("TRANSCODER_BASE_PATH", "/stage")
    document = cli_openapi.build_document([str(LIBRARY_SET)])
    assert document["servers"] == [{"url": "/stage"}]
    assert "/library.v1.LibraryService/GetShelf" not in document["paths"]


def test_non_finite_floats_are_typed_strings() -> None:
    double = openapi_schemas.SCALARS[FieldDescriptor.TYPE_DOUBLE]
    number, named = double["anyOf"]
    assert number == {"type": "number", "format": "double"}
    assert named == {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}


BEHAVIOR_PROTO = """
syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/api/field_behavior.proto";

message Order {
  string name = 1 [(google.api.field_behavior) = IDENTIFIER, (google.api.field_behavior) = OUTPUT_ONLY];
  string item = 2 [(google.api.field_behavior) = REQUIRED];
  int32 quantity = 3 [(google.api.field_behavior) = REQUIRED, (google.api.field_behavior) = IMMUTABLE];
  string coupon = 4 [(google.api.field_behavior) = INPUT_ONLY];
  string note = 5 [deprecated = true];
}
message OldOrder {
  option deprecated = true;
  string name = 1;
}
message CreateOrderRequest { Order order = 1; OldOrder old = 2; }

service Orders {
  rpc CreateOrder(CreateOrderRequest) returns (Order) {
    option (google.api.http) = {post: "/v1/orders" body: "order"};
  }
  rpc CreateOldOrder(CreateOrderRequest) returns (OldOrder) {
    option deprecated = true;
    option (google.api.http) = {post: "/v1/old-orders" body: "*"};
  }
}
"""


def test_field_behavior_and_deprecation(tmp_path: Path) -> None:
    from tests.support import compile_set

    built = compile_set(tmp_path, BEHAVIOR_PROTO, "shop")
    routes = routes_for(descriptors.build(descriptor_source.read_all([str(built)])))[0]
    document = openapi.document(routes)
    validate(document)
    schemas = document["components"]["schemas"]
    request, response = schemas["shop.v1.Order-Input"], schemas["shop.v1.Order"]
    assert request["required"] == ["item", "quantity"]
    assert "required" not in response  # answers may omit fields at their defaults
    for schema in (request, response):
        properties = schema["properties"]
        assert properties["name"]["readOnly"] is True
        assert properties["coupon"]["writeOnly"] is True
        assert properties["note"]["deprecated"] is True
        assert "readOnly" not in properties["item"]
    assert schemas["shop.v1.OldOrder"]["deprecated"] is True
    assert document["paths"]["/v1/old-orders"]["post"]["deprecated"] is True
    assert "deprecated" not in document["paths"]["/v1/orders"]["post"]
    body = document["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/shop.v1.Order-Input"}


def test_default_routes_have_their_own_tag(document: dict[str, Any]) -> None:
    tag = "library.v1.LibraryService (default routes)"
    assert tag in [t["name"] for t in document["tags"]]
    default = operation(document, "/library.v1.LibraryService/GetShelf", "post")
    assert default["tags"] == [tag]
    assert operation(document, "/v1/shelves", "get")["tags"] == ["library.v1.LibraryService"]
