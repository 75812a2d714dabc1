"""Hostile parameters: query strings, form bodies and request streams with too many pieces.

TRANSCODER_MAX_PARAMETERS caps query and form pairs before any is split, and
TRANSCODER_MAX_STREAM_MESSAGES the messages of a request stream before any is decoded; the
problems of what is under the caps are reported at most MAX_REPORTED_PROBLEMS at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.decoding.query_string import parse_pairs
from grpc_transcoder.errors import MAX_REPORTED_PROBLEMS, RequestError, Violations
from tests.conftest import Handler
from tests.event_builder import Source, build, response_body, response_json
from tests.hostile_shapes import GRPC_WEB, _frame

FORM = [("content-type", "application/x-www-form-urlencoded")]


def _form(count: int) -> str:
    return "&".join(["rInt32=1"] * count)


@pytest.mark.parametrize("source", [pytest.param(s, id=s.value) for s in Source])
def test_a_form_at_the_cap_is_read_and_one_more_is_refused(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    path = "/v1/debug/kinds:echo"
    at_cap = library_handler(build(source, "POST", path, headers=FORM, body=_form(1000)), context)
    assert at_cap["statusCode"] == 200
    assert len(response_json(at_cap)["rInt32"]) == 1000
    over = library_handler(build(source, "POST", path, headers=FORM, body=_form(1001)), context)
    assert over["statusCode"] == 400
    assert response_json(over)["message"] == (
        "the form body has more than 1000 parameters (TRANSCODER_MAX_PARAMETERS)"
    )


@pytest.mark.parametrize(
    "source", [Source.REST_API, Source.HTTP_API, Source.FUNCTION_URL, Source.ALB_MULTI_VALUE]
)
def test_a_query_over_the_cap_is_refused(
    make_library_handler: Callable[..., Handler], context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(max_parameters=10)
    query = [("pageSize", "1")] * 11
    response = handler(build(source, "GET", "/v1/shelves", query=query), context)
    assert response["statusCode"] == 400
    assert "more than 10 parameters" in response_json(response)["message"]


def test_the_cap_can_be_turned_off(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_parameters=0)
    event = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", headers=FORM, body=_form(3000))
    assert handler(event, context)["statusCode"] == 200


def test_unknown_parameters_under_the_cap_are_reported_100_at_a_time(
    library_handler: Handler, context: LambdaContext
) -> None:
    query = [(f"nope{i}", "1") for i in range(500)]
    response = library_handler(build(Source.HTTP_API, "GET", "/v1/shelves", query=query), context)
    error = response_json(response)
    assert response["statusCode"] == 400
    assert len(error["details"][0]["fieldViolations"]) == MAX_REPORTED_PROBLEMS
    assert error["message"].startswith("500 problems: nope0: unknown parameter")
    assert error["message"].endswith("; and 97 more (see details); 400 more not listed")
    assert len(response_body(response)) < 32 * 1024


def test_the_pairs_are_never_split_past_the_cap() -> None:
    violations = Violations()
    with pytest.raises(RequestError, match="more than 3 parameters"):
        parse_pairs(b"a&b&c&d", violations, limit=3)
    assert parse_pairs(b"a&b&c", violations, limit=3) == [("a", ""), ("b", ""), ("c", "")]


def test_a_request_stream_over_its_cap_is_refused_before_decoding(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_stream_messages=5)
    book = orjson.dumps({"name": "shelves/fiction/books/s"}).decode()
    for content_type, body in (
        ("application/json", f"[{','.join([book] * 6)}]"),
        ("application/x-ndjson", "\n".join([book] * 6)),
    ):
        headers = [("content-type", content_type)]
        event = build(Source.HTTP_API, "POST", "/v1/books:import", headers=headers, body=body)
        response = handler(event, context)
        assert response["statusCode"] == 400, content_type
        assert (
            "more than 5 messages (TRANSCODER_MAX_STREAM_MESSAGES)"
            in (response_json(response)["message"])
        )
    headers = [("content-type", "application/x-ndjson")]
    at_cap = build(Source.HTTP_API, "POST", "/v1/books:import", headers=headers, body=book * 1)
    assert handler(at_cap, context)["statusCode"] == 200


def test_a_grpc_web_stream_over_its_cap_answers_in_its_trailer(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_stream_messages=5)
    headers = [("content-type", GRPC_WEB)]
    body = _frame(b"") * 100_000
    event = build(
        Source.HTTP_API,
        "POST",
        "/library.v1.DebugService/Chat",
        headers=headers,
        body=body,
        binary=True,
    )
    answer = response_body(handler(event, context))
    assert b"grpc-status: 3" in answer
    assert b"more than 5 messages" in answer
