"""request_decoding: body, path and query into the request message, through the real routes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder import settings as settings_module
from grpc_transcoder.decoding.request import DecodingOptions, RequestDecoder
from grpc_transcoder.errors import (
    BAD_REQUEST_TYPE,
    Code,
    FieldViolation,
    RequestError,
    TranscoderError,
)
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.table import Match, RouteTable

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def table(registry: Registry) -> RouteTable:
    routes, _ = routing.routes_for(registry)
    return RouteTable(routes)


@pytest.fixture(scope="module")
def decoder(registry: Registry) -> RequestDecoder:
    return RequestDecoder(JsonCodec(registry.pool, JsonOptions()))


def request(
    method: str, path: str, *, query: str = "", body: bytes = b"", content_type: str | None = None
) -> HttpRequest:
    headers = {} if content_type is None else {"content-type": content_type}
    return HttpRequest(method=method, path=path, query=query, headers=headers, body=body)


def decode(
    registry: Registry,
    decoder: RequestDecoder,
    match: Match,
    http: HttpRequest,
) -> Any:
    """The decoded message as JSON (populated fields only)."""
    message = registry.message_class(match.route.method.input)()
    decoder.decode(match, http, message)
    return JsonCodec(registry.pool, JsonOptions(omit_unpopulated=True)).encode(message)


def run(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    method: str,
    path: str,
    *,
    body: str | bytes = b"",
    **options: Any,
) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    http = request(method, path, body=raw, **options)
    return decode(registry, decoder, table.match(method, path), http)


def failure(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    method: str,
    path: str,
    **options: Any,
) -> RequestError:
    with pytest.raises(RequestError) as caught:
        run(registry, table, decoder, method, path, **options)
    return caught.value


def with_body(table: RouteTable, method: str, path: str, body: str) -> Match:
    """A real route with another `body` (the example API has no scalar, list or map body)."""
    match = table.match(method, path)
    return Match(replace(match.route, body=body), match.bindings)


# -- http.proto semantics ---------------------------------------------------------------------


def test_body_star_maps_the_whole_body(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    body = '{"fInt32": 1, "f_string": "both names", "customJSONName": "x"}'
    assert run(registry, table, decoder, "POST", "/v1/debug/kinds:echo", body=body) == {
        "fInt32": 1,
        "fString": "both names",
        "customJSONName": "x",
    }


def test_body_field_and_query_for_the_rest(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    value = run(
        registry, table, decoder, "POST", "/v1/shelves", body='{"theme": "Poetry"}',
        query="shelfId=poems",
    )  # fmt: skip
    assert value == {"shelf": {"theme": "Poetry"}, "shelfId": "poems"}


@pytest.mark.parametrize(
    ("body_field", "body", "expected"),
    [
        pytest.param("f_string", '"text"', {"fString": "text"}, id="scalar"),
        pytest.param("r_string", '["a", "b"]', {"rString": ["a", "b"]}, id="repeated"),
        pytest.param("m_string", '{"k": "v"}', {"mString": {"k": "v"}}, id="map"),
        pytest.param(
            "w_timestamp",
            '"2020-01-01T00:00:00Z"',
            {"wTimestamp": "2020-01-01T00:00:00Z"},
            id="timestamp",
        ),
        pytest.param(
            "r_nested", '[{"label": "x"}]', {"rNested": [{"label": "x"}]}, id="repeated-messages"
        ),
    ],
)
def test_body_field_of_any_type(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    body_field: str,
    body: str,
    expected: dict[str, Any],
) -> None:
    match = with_body(table, "POST", "/v1/debug/kinds:echo", body_field)
    http = request("POST", "/v1/debug/kinds:echo", body=body.encode(), query="f_int32=7")
    assert decode(registry, decoder, match, http) == {**expected, "fInt32": 7}


def test_no_body_rule_takes_path_and_query(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    value = run(
        registry,
        table,
        decoder,
        "GET",
        "/v1/shelves/fiction/books",
        query="pageSize=2&genre=FICTION",
    )
    assert value == {"parent": "shelves/fiction", "pageSize": 2, "genre": "FICTION"}


def test_no_body_rule_refuses_a_body(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(registry, table, decoder, "GET", "/v1/shelves", body='{"pageSize": 1}')
    assert error.status == 400
    assert "takes no request body" in error.message
    assert run(registry, table, decoder, "GET", "/v1/shelves", body=" \n") == {}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        pytest.param(
            "PATCH", "/v1/shelves/fiction/books/dune", '{"name": "shelves/mine/books/x"}', "book.name",
            id="body-field",
        ),
        pytest.param(
            "POST", "/v1/shelves/fiction/books/dune:move",
            '{"name": "shelves/other/books/dune", "otherShelf": "shelves/science"}', "name",
            id="body-star",
        ),
        pytest.param("PUT", "/v1/authors/ursula", '{"id": "someone-else"}', "author.id", id="nested-path"),
    ],
)  # fmt: skip
def test_a_body_that_contradicts_the_path_is_refused(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    method: str,
    path: str,
    body: str,
    field: str,
) -> None:
    error = failure(registry, table, decoder, method, path, body=body)
    assert error.status == 400
    assert [v.field for v in error.violations] == [field]
    assert "the values must agree" in error.message
    assert "in the request body" in error.message
    assert "in the URL path" in error.message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"name": "shelves/fiction/books/dune", "otherShelf": "s"}', id="equal"),
        pytest.param('{"name": null, "otherShelf": "s"}', id="null"),
        pytest.param('{"otherShelf": "s"}', id="absent"),
    ],
)
def test_a_body_that_agrees_with_the_path_is_accepted(
    registry: Registry, table: RouteTable, decoder: RequestDecoder, body: str
) -> None:
    value = run(registry, table, decoder, "POST", "/v1/shelves/fiction/books/dune:move", body=body)
    assert value == {"name": "shelves/fiction/books/dune", "otherShelf": "s"}


def test_query_parameters_may_not_set_body_fields(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(
        registry, table, decoder, "POST", "/v1/shelves/fiction/books/dune:move",
        body='{"otherShelf": "s"}', query="other_shelf=x",
    )  # fmt: skip
    assert error.violations == (
        FieldViolation(
            "other_shelf",
            'read from the request body (the HTTP rule has body: "*"); it cannot be a query parameter',
        ),
    )


# -- JSON bodies -------------------------------------------------------------------------------


def test_unknown_json_fields_are_refused_by_name(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(
        registry, table, decoder, "POST", "/v1/shelves", body='{"theme": "x", "colour": 1}'
    )
    assert error.status == 400
    assert len(error.violations) == 1
    assert "colour" in error.violations[0].field + error.violations[0].description
    assert "colour" in error.message


def test_unknown_json_fields_can_be_ignored(registry: Registry, table: RouteTable) -> None:
    decoder = RequestDecoder(JsonCodec(registry.pool, JsonOptions(ignore_unknown_fields=True)))
    value = run(registry, table, decoder, "POST", "/v1/shelves", body='{"theme": "x", "colour": 1}')
    assert value == {"shelf": {"theme": "x"}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/v1/debug/kinds:echo", {}, id="body-star"),
        pytest.param("/v1/shelves", {}, id="body-field-stays-unset"),
    ],
)
def test_an_empty_body_is_an_empty_message(
    registry: Registry, table: RouteTable, decoder: RequestDecoder, path: str, expected: Any
) -> None:
    assert run(registry, table, decoder, "POST", path) == expected


@pytest.mark.parametrize(
    ("body", "description"),
    [
        pytest.param(" \n\t", "the body is only whitespace; send JSON, or no body at all", id="whitespace"),
        pytest.param('{"fInt32": ', "the body is not valid JSON: unexpected end of data", id="truncated"),
        pytest.param("[1, 2]", "the body must be a JSON object for library.v1.Kinds, got an array", id="array"),
        pytest.param('"text"', "the body must be a JSON object for library.v1.Kinds, got a string", id="string"),
        pytest.param("\xff", "the body is not valid JSON", id="not-utf8"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_a_json_object(
    registry: Registry, table: RouteTable, decoder: RequestDecoder, body: str, description: str
) -> None:
    raw = body.encode("latin-1")
    error = failure(registry, table, decoder, "POST", "/v1/debug/kinds:echo", body=raw)
    assert error.status == 400
    assert error.violations[0].description.startswith(description)


def test_any_resolves_from_the_loaded_descriptors(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    any_value = {"@type": "type.googleapis.com/library.v1.Shelf", "theme": "Poetry"}
    value = run(
        registry,
        table,
        decoder,
        "POST",
        "/v1/debug/kinds:echo",
        body=orjson.dumps({"wAny": any_value}),
    )
    assert value == {"wAny": any_value}
    error = failure(
        registry, table, decoder, "POST", "/v1/debug/kinds:echo",
        body='{"wAny": {"@type": "type.googleapis.com/no.Such"}}',
    )  # fmt: skip
    assert "no.Such" in error.message


def test_json_errors_and_query_errors_are_reported_together(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(
        registry, table, decoder, "POST", "/v1/shelves",
        body='{"theme": 5}', query="shelf_id=ok&nope=1&shelfId=again",
    )  # fmt: skip
    assert len(error.violations) == 3
    assert error.message.startswith("3 problems: ")
    assert error.details == [
        {
            "@type": BAD_REQUEST_TYPE,
            "fieldViolations": [
                {"field": v.field, "description": v.description} for v in error.violations
            ],
        }
    ]
    assert [v.field for v in error.violations][1:] == ["nope", "shelfId"]


def test_the_message_lists_three_problems_and_counts_the_rest(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(registry, table, decoder, "GET", "/v1/shelves", query="a=1&b=2&c=3&d=4&e=5")
    assert error.message.endswith("; and 2 more (see details)")
    assert len(error.violations) == 5


def test_one_problem_is_the_message(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    error = failure(registry, table, decoder, "GET", "/v1/shelves", query="pageSize=ten")
    assert error.message == "pageSize: expected int32 (-2147483648 to 2147483647), got 'ten'"
    assert error.grpc_code == Code.INVALID_ARGUMENT


class _FailingCodec:
    """A codec that breaks its promise to raise only RequestError."""

    def decode(self, value: Any, message: Any, *, field_path: str = "") -> None:  # noqa: ARG002
        raise TypeError("'int' object is not iterable")


def test_a_codec_failure_stays_a_client_error(registry: Registry, table: RouteTable) -> None:
    error = failure(
        registry, table, RequestDecoder(_FailingCodec()), "POST", "/v1/debug/kinds:echo", body="{}"
    )
    assert error.status == 400
    assert error.message == "invalid JSON for library.v1.Kinds: 'int' object is not iterable"


# -- raw bodies -------------------------------------------------------------------------------


def test_http_body_field_gets_the_raw_bytes_and_content_type(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    match = table.match("PUT", "/v1/shelves/fiction/books/dune/cover")
    message: Any = registry.message_class(match.route.method.input)()
    http = request(
        "PUT", "/v1/shelves/fiction/books/dune/cover", body=png, content_type="image/png"
    )
    decoder.decode(match, http, message)
    assert message.name == "shelves/fiction/books/dune"
    assert (message.cover.content_type, message.cover.data) == ("image/png", png)


def test_http_body_request_message(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    match = table.match("PUT", "/v1/shelves/fiction/books/dune/cover")
    http_body = registry.pool.FindMessageTypeByName("google.api.HttpBody")
    route = replace(match.route, body="*", method=replace(match.route.method, input=http_body))
    message: Any = registry.message_class(http_body)()
    http = request(
        "POST", "/x", body=b'{"not": "parsed"}', content_type="text/csv; charset=latin-1"
    )
    decoder.decode(Match(route, ()), http, message)
    assert (message.content_type, message.data) == (
        "text/csv; charset=latin-1",
        b'{"not": "parsed"}',
    )


# -- form bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        pytest.param(
            "POST", "/v1/shelves", "theme=Modern+poetry&labels[lang]=en", {"shelf": {"theme": "Modern poetry", "labels": {"lang": "en"}}},
            id="body-field",
        ),
        pytest.param(
            "POST", "/v1/shelves/fiction/books/dune:move", "otherShelf=shelves%2Fscience",
            {"name": "shelves/fiction/books/dune", "otherShelf": "shelves/science"}, id="body-star",
        ),
        pytest.param(
            "POST", "/v1/shelves/fiction/books/dune:move", "name=shelves/fiction/books/dune",
            {"name": "shelves/fiction/books/dune"}, id="agreeing-with-the-path",
        ),
        pytest.param(
            "POST", "/v1/shelves", '{"theme": "curl -d sends JSON as a form"}',
            {"shelf": {"theme": "curl -d sends JSON as a form"}}, id="json-labelled-as-form",
        ),
    ],
)  # fmt: skip
def test_form_bodies(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    method: str,
    path: str,
    body: str,
    expected: Any,
) -> None:
    assert run(registry, table, decoder, method, path, body=body, content_type=FORM) == expected


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        pytest.param("name=shelves/x/books/y", "name", "'shelves/x/books/y' in the request body but 'shelves/fiction/books/dune' in the URL path; the values must agree", id="contradicting-the-path"),
        pytest.param("colour=red", "colour", "unknown parameter: library.v1.MoveBookRequest has no field 'colour'", id="unknown"),
        pytest.param("otherShelf=a&otherShelf=b", "otherShelf", "given more than once", id="twice"),
    ],
)  # fmt: skip
def test_form_body_problems(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    body: str,
    field: str,
    description: str,
) -> None:
    error = failure(
        registry, table, decoder, "POST", "/v1/shelves/fiction/books/dune:move",
        body=body, content_type=FORM,
    )  # fmt: skip
    assert len(error.violations) == 1
    assert error.violations[0].field == field
    assert error.violations[0].description.startswith(description)


# -- limits and content types -----------------------------------------------------------------


def test_an_oversized_body_answers_413_before_parsing(
    registry: Registry, table: RouteTable
) -> None:
    small = RequestDecoder(
        JsonCodec(registry.pool, JsonOptions()), options=DecodingOptions(max_request_bytes=10)
    )
    error = failure(registry, table, small, "POST", "/v1/shelves", body=b"{" * 11)
    assert (error.status, error.grpc_code) == (413, Code.RESOURCE_EXHAUSTED)
    assert "11 bytes; the limit is 10 bytes (TRANSCODER_MAX_REQUEST_BYTES)" in error.message
    assert run(registry, table, small, "POST", "/v1/shelves", body=b"{" + b" " * 8 + b"}") == {
        "shelf": {}
    }


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        pytest.param(None, {"shelf": {"theme": "x"}}, id="missing-means-json"),
        pytest.param("application/json", {"shelf": {"theme": "x"}}, id="json"),
        pytest.param("Application/JSON; charset=UTF-8", {"shelf": {"theme": "x"}}, id="json-utf8"),
        pytest.param("application/merge-patch+json", {"shelf": {"theme": "x"}}, id="plus-json"),
    ],
)
def test_json_content_types(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    content_type: str | None,
    expected: Any,
) -> None:
    value = run(
        registry,
        table,
        decoder,
        "POST",
        "/v1/shelves",
        body='{"theme": "x"}',
        content_type=content_type,
    )
    assert value == expected


@pytest.mark.parametrize(
    ("path", "content_type", "message"),
    [
        pytest.param(
            "/v1/shelves", "image/png",
            "unsupported Content-Type 'image/png' for the body field 'shelf'; send application/json or application/x-www-form-urlencoded",
            id="image",
        ),
        pytest.param(
            "/v1/debug/kinds:echo", "multipart/form-data; boundary=x",
            "unsupported Content-Type 'multipart/form-data' for this route; send application/json or application/x-www-form-urlencoded",
            id="multipart",
        ),
        pytest.param(
            "/v1/shelves", "application/json; charset=latin-1",
            "unsupported charset 'latin-1' for the body field 'shelf'; send UTF-8", id="charset",
        ),
    ],
)  # fmt: skip
def test_unsupported_content_types_answer_415(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    path: str,
    content_type: str,
    message: str,
) -> None:
    error = failure(registry, table, decoder, "POST", path, body="{}", content_type=content_type)
    assert (error.status, error.message) == (415, message)


def test_a_form_for_a_scalar_body_field_answers_415(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    match = with_body(table, "POST", "/v1/debug/kinds:echo", "f_string")
    http = request("POST", "/v1/debug/kinds:echo", body=b"f_string=x", content_type=FORM)
    with pytest.raises(RequestError) as caught:
        decode(registry, decoder, match, http)
    assert caught.value.status == 415
    assert caught.value.message.endswith("for the body field 'f_string'; send application/json")


def test_a_body_naming_no_field_is_an_internal_error(
    registry: Registry, table: RouteTable, decoder: RequestDecoder
) -> None:
    match = with_body(table, "POST", "/v1/debug/kinds:echo", "no_such_field")
    with pytest.raises(TranscoderError, match=r"names no field of library\.v1\.Kinds") as caught:
        decode(registry, decoder, match, request("POST", "/v1/debug/kinds:echo"))
    assert caught.value.grpc_code == Code.INTERNAL


# -- settings and caching ---------------------------------------------------------------------


def test_options_from_settings() -> None:
    loaded = settings_module.load(
        {},
        max_request_bytes=5,
        unknown_query_parameters=settings_module.UnknownFields.IGNORE,
        ignored_query_parameters=frozenset({"api_key"}),
        enum_case_insensitive=True,
    )
    assert DecodingOptions.from_settings(loaded) == DecodingOptions(
        max_request_bytes=5,
        reject_unknown_query_parameters=False,
        ignored_query_parameters=frozenset({"api_key"}),
        enum_case_insensitive=True,
    )
    assert DecodingOptions.from_settings(settings_module.load({})) == DecodingOptions()


# -- properties -------------------------------------------------------------------------------

_ROUTES = [
    ("POST", "/v1/debug/kinds:echo"),
    ("POST", "/v1/shelves"),
    ("GET", "/v1/books:search"),
    ("PATCH", "/v1/shelves/fiction/books/dune"),
    ("PUT", "/v1/shelves/fiction/books/dune/cover"),
    ("POST", "/v1/shelves/fiction/books/dune:move"),
]
_KEYS = st.sampled_from(
    ["fInt32", "f_nested", "rString", "mString", "wAny", "@type", "book", "title", "name",
     "shelf", "theme", "labels", "query", "genres", "update_mask", "nope", ""]
)  # fmt: skip
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=10,
)
_BODIES = st.one_of(
    st.binary(max_size=40),
    _JSON.map(orjson.dumps),
    st.dictionaries(_KEYS, _JSON, max_size=4).map(orjson.dumps),
)


_CONTENT_TYPES = st.sampled_from([None, "application/json", FORM, "text/plain", "image/png"])


@settings(max_examples=400, deadline=None)
@given(
    route=st.sampled_from(_ROUTES),
    query=st.text(max_size=30),
    body=_BODIES,
    content_type=_CONTENT_TYPES,
)
def test_any_request_decodes_or_answers_a_client_error(
    registry: Registry,
    table: RouteTable,
    decoder: RequestDecoder,
    route: tuple[str, str],
    query: str,
    body: bytes,
    content_type: str | None,
) -> None:
    method, path = route
    http = request(method, path, query=query, body=body, content_type=content_type)
    match = table.match(method, path)
    message = registry.message_class(match.route.method.input)()
    status = 200
    try:
        decoder.decode(match, http, message)
    except RequestError as exc:
        status = exc.status
    assert status in (200, 400, 415)
    message.SerializeToString()
