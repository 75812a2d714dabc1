"""Request decoding end to end: every event source, through the real handler and backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.errors import BAD_REQUEST_TYPE
from grpc_transcoder.settings import UnknownFields
from tests.conftest import Handler
from tests.event_builder import Source, build
from tests.support import answer

ALL_SOURCES = [pytest.param(source, id=source.value) for source in Source]
# ALB without multi-value headers passes one value per key (the last): AWS drops the others.
MULTI_VALUE_SOURCES = [
    pytest.param(source, id=source.value) for source in Source if source is not Source.ALB
]
FORM = ("content-type", "application/x-www-form-urlencoded")
JSON = ("content-type", "application/json")


def call(handler: Handler, context: LambdaContext, event: dict[str, Any]) -> tuple[int, Any]:
    return answer(handler, event, context)


@pytest.mark.parametrize("source", MULTI_VALUE_SOURCES)
def test_repeated_query_keys_survive(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    query = [("genres", "FICTION"), ("genres", "SCIENCE")]
    event = build(source, "GET", "/v1/books:search", query=query)
    status, found = call(library_handler, context, event)
    assert status == 200
    assert found["totalSize"] == 3


def test_single_value_alb_keeps_the_last_value(
    library_handler: Handler, context: LambdaContext
) -> None:
    query = [("genres", "FICTION"), ("genres", "SCIENCE")]
    event = build(Source.ALB, "GET", "/v1/books:search", query=query)
    status, found = call(library_handler, context, event)
    assert (status, [b["title"] for b in found["books"]]) == (200, ["Cosmos"])


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_maps_and_timestamps_in_the_query(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    query = [("labels[series]", "dune"), ("published_after", "2000-01-01T00:00:00+00:00")]
    event = build(source, "GET", "/v1/books:search", query=query)
    status, found = call(library_handler, context, event)
    assert status == 200
    assert [book["title"] for book in found["books"]] == ["Dune"]


@pytest.mark.parametrize("source", ALL_SOURCES)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a b+c", id="space-and-plus"),
        pytest.param("x&y=z/%", id="separators"),
        pytest.param("é ☃", id="unicode"),
    ],
)
def test_query_values_arrive_exactly(
    library_handler: Handler, context: LambdaContext, source: Source, text: str
) -> None:
    event = build(source, "GET", "/v1/debug/ping", query=[("text", text)])
    status, answer = call(library_handler, context, event)
    assert (status, answer) == (200, {"text": text})


@pytest.mark.parametrize(
    ("source", "raw"),
    [
        pytest.param(Source.HTTP_API, {"rawQueryString": "text=a+b%2Bc"}, id="http-api"),
        pytest.param(Source.FUNCTION_URL, {"rawQueryString": "text=a+b%2Bc"}, id="function-url"),
        pytest.param(Source.ALB, {"queryStringParameters": {"text": "a+b%2Bc"}}, id="alb"),
        pytest.param(
            Source.ALB_MULTI_VALUE,
            {"multiValueQueryStringParameters": {"text": ["a+b%2Bc"]}},
            id="alb-multi-value",
        ),
    ],
)
def test_a_raw_plus_is_a_space_and_an_encoded_plus_a_plus(
    library_handler: Handler, context: LambdaContext, source: Source, raw: dict[str, Any]
) -> None:
    event = {**build(source, "GET", "/v1/debug/ping"), **raw}
    status, answer = call(library_handler, context, event)
    assert (status, answer) == (200, {"text": "a b+c"})


def test_a_raw_plus_stays_a_plus_when_asked(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(query_plus_as_space=False)  # Envoy's default
    for event in (
        {**build(Source.HTTP_API, "GET", "/v1/debug/ping"), "rawQueryString": "text=a+b%20c"},
        build(Source.REST_API, "GET", "/v1/debug/ping", query=[("text", "a+b c")]),
    ):
        assert call(handler, context, event) == (200, {"text": "a+b c"})
    form = [("content-type", "application/x-www-form-urlencoded")]
    shelf = build(Source.HTTP_API, "POST", "/v1/shelves", body="theme=a+b", headers=form)
    assert call(handler, context, shelf)[1]["theme"] == "a b"  # forms always decode it


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TRANSCODER_URL_UNESCAPE", "all"), ("TRANSCODER_MATCH_UNREGISTERED_VERBS", "true")],
)
def test_the_envoy_routing_options_are_settings(
    make_library_handler: Callable[..., Handler], context: LambdaContext, variable: str, value: str
) -> None:
    from grpc_transcoder import settings

    loaded = settings.load({variable: value})
    name = variable.removeprefix("TRANSCODER_").lower()
    handler = make_library_handler(**{name: getattr(loaded, name)})
    default = make_library_handler()
    if name == "url_unescape":  # {name=shelves/*/books/*} is multi-segment: %2F is decoded
        event = build(Source.REST_API, "GET", "/v1/shelves/fiction%2Fx/books/dune")
        assert "'shelves/fiction/x/books/dune'" in call(handler, context, event)[1]["message"]
        assert "'shelves/fiction%2Fx/books/dune'" in call(default, context, event)[1]["message"]
    else:  # `:nope` is taken as a verb that no template has: no route at all
        event = build(Source.REST_API, "GET", "/v1/authors/a1:nope")
        assert call(handler, context, event)[1]["message"].startswith("no route for GET")
        assert not call(default, context, event)[1]["message"].startswith("no route")


@pytest.mark.parametrize("source", ALL_SOURCES)
@pytest.mark.parametrize(
    "binary", [pytest.param(False, id="text"), pytest.param(True, id="base64")]
)
def test_json_bodies(
    library_handler: Handler, context: LambdaContext, source: Source, binary: bool
) -> None:
    body = '{"fInt64": "9007199254740993", "f_string": "é", "rEnum": ["LOW", 2]}'
    event = build(source, "POST", "/v1/debug/kinds:echo", body=body, binary=binary, headers=[JSON])
    status, echoed = call(library_handler, context, event)
    assert status == 200
    assert (echoed["fInt64"], echoed["fString"], echoed["rEnum"]) == (
        "9007199254740993",
        "é",
        ["LOW", "HIGH"],
    )


@pytest.mark.parametrize("source", ALL_SOURCES)
@pytest.mark.parametrize(
    "binary", [pytest.param(False, id="text"), pytest.param(True, id="base64")]
)
def test_form_bodies(
    library_handler: Handler, context: LambdaContext, source: Source, binary: bool
) -> None:
    body = "theme=Form+poetry&labels%5Bvia%5D=form%2Bbody"
    event = build(source, "POST", "/v1/shelves", body=body, binary=binary, headers=[FORM])
    status, shelf = call(library_handler, context, event)
    assert status in (200, 201)
    assert (shelf["theme"], shelf["labels"]) == ("Form poetry", {"via": "form+body"})


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_raw_http_body_upload(
    make_library_handler: Callable[..., Handler],
    backend: example_backend.RunningBackend,
    context: LambdaContext,
    source: Source,
) -> None:
    handler = make_library_handler()
    name = f"shelves/science/books/cover-{source.value}"
    created = build(
        source, "POST", "/v1/shelves/science/books", query=[("bookId", name.rsplit("/", 1)[1])]
    )
    assert call(handler, context, created)[0] == 200
    image = b"\x89PNG\r\n\x1a\n\x00\xff" + source.value.encode()
    event = build(
        source,
        "PUT",
        f"/v1/{name}/cover",
        body=image,
        binary=True,
        headers=[("content-type", "image/png")],
    )
    status, book = call(handler, context, event)
    assert (status, book["name"]) == (200, name)
    assert backend.backend.covers[name] == ("image/png", image)


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_patch_fills_the_update_mask(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    book_id = f"patch-{source.value}"
    created = build(
        source, "POST", "/v1/shelves/fiction/books", query=[("bookId", book_id)],
        body='{"title": "Kept", "pageCount": 1}', headers=[JSON],
    )  # fmt: skip
    assert call(library_handler, context, created)[0] == 200
    patch = build(
        source,
        "PATCH",
        f"/v1/shelves/fiction/books/{book_id}",
        body='{"pageCount": 2}',
        headers=[JSON],
    )
    status, book = call(library_handler, context, patch)
    assert (status, book["title"], book["pageCount"]) == (200, "Kept", 2)


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_a_body_cannot_redirect_the_path(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    event = build(
        source, "PATCH", "/v1/shelves/fiction/books/dune",
        body='{"name": "shelves/science/books/cosmos", "title": "Hijacked"}', headers=[JSON],
    )  # fmt: skip
    status, error = call(library_handler, context, event)
    assert status == 400
    assert error["code"] == 3
    assert error["details"][0]["fieldViolations"][0]["field"] == "book.name"
    cosmos = build(source, "GET", "/v1/shelves/science/books/cosmos")
    assert call(library_handler, context, cosmos)[1]["title"] == "Cosmos"


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_every_problem_in_one_bad_request(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    query = [("page_size", "ten"), ("colour", "red"), ("published_after", "yesterday")]
    status, error = call(
        library_handler, context, build(source, "GET", "/v1/books:search", query=query)
    )
    assert status == 400
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == 3
    assert error["message"].startswith("3 problems: page_size: expected int32")
    assert "got 'ten'" in error["message"]
    [detail] = error["details"]
    assert detail["@type"] == BAD_REQUEST_TYPE
    assert [v["field"] for v in detail["fieldViolations"]] == [
        "page_size",
        "colour",
        "published_after",
    ]


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_oversized_bodies_answer_413(
    make_library_handler: Callable[..., Handler], context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(max_request_bytes=64)
    event = build(source, "POST", "/v1/shelves", body='{"theme": "' + "x" * 100 + '"}', binary=True)
    status, error = call(handler, context, event)
    assert (status, error["code"]) == (413, 8)
    assert "the limit is 64 bytes" in error["message"]


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_binary_content_types_answer_415(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    event = build(
        source,
        "POST",
        "/v1/shelves",
        body='{"theme": "x"}',
        headers=[("content-type", "application/octet-stream")],
    )
    status, error = call(library_handler, context, event)
    assert status == 415
    assert "application/json or application/x-www-form-urlencoded" in error["message"]


@pytest.mark.parametrize("source", ALL_SOURCES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain;charset=UTF-8", "", "text/html", "application/xml", "application/vnd.acme+json"],
    ids=["text-plain", "missing", "html", "xml", "vendor-json"],
)
def test_a_json_body_is_read_as_json_whatever_its_text_content_type(
    library_handler: Handler, context: LambdaContext, source: Source, content_type: str
) -> None:
    headers = [("content-type", content_type)] if content_type else []
    event = build(source, "POST", "/v1/shelves", body='{"theme": "Plain"}', headers=headers)
    status, shelf = call(library_handler, context, event)
    assert status == 201
    assert shelf["theme"] == "Plain"


def test_settings_for_unknown_and_ignored_parameters_and_enum_case(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    query = [("genres", "science"), ("api_key", "k"), ("utm_source", "mail")]
    event = build(Source.HTTP_API, "GET", "/v1/books:search", query=query)
    strict = make_library_handler(ignored_query_parameters=frozenset({"api_key"}))
    status, error = call(strict, context, event)
    assert status == 400
    assert [v["field"] for v in error["details"][0]["fieldViolations"]] == ["genres", "utm_source"]
    lenient = make_library_handler(
        ignored_query_parameters=frozenset({"api_key"}),
        unknown_query_parameters=UnknownFields.IGNORE,
        enum_case_insensitive=True,
    )
    status, found = call(lenient, context, event)
    assert (status, [b["title"] for b in found["books"]]) == (200, ["Cosmos"])


@pytest.mark.parametrize(
    ("source", "raw"),
    [
        pytest.param(Source.HTTP_API, {"rawQueryString": "text=%FF"}, id="http-api"),
        pytest.param(Source.ALB, {"queryStringParameters": {"text": "%FF"}}, id="alb"),
    ],
)
def test_a_query_value_that_is_not_utf8_is_refused(
    library_handler: Handler, context: LambdaContext, source: Source, raw: dict[str, Any]
) -> None:
    event = {**build(source, "GET", "/v1/debug/ping"), **raw}
    status, error = call(library_handler, context, event)
    assert status == 400
    assert error["message"] == "text: not valid UTF-8 after percent-decoding"


def test_enum_case_insensitivity_applies_to_json_bodies(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    body = '{"fEnum": "high", "rEnum": ["Low", "HIGH"], "mEnum": {"a": "low"}}'
    event = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", body=body, headers=[JSON])
    status, error = call(make_library_handler(), context, event)
    assert status == 400
    assert "fEnum" in error["message"]
    status, echoed = call(make_library_handler(enum_case_insensitive=True), context, event)
    assert status == 200
    assert (echoed["fEnum"], echoed["rEnum"], echoed["mEnum"]) == (
        "HIGH",
        ["LOW", "HIGH"],
        {"a": "LOW"},
    )
