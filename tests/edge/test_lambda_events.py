"""lambda_events: each source's real payload read into one complete HttpRequest."""

from __future__ import annotations

from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.decoding.query_string import parse_pairs
from grpc_transcoder.edge import events as lambda_events
from grpc_transcoder.edge.events import EventSource
from grpc_transcoder.errors import FieldViolation, RequestError, Violations
from grpc_transcoder.exchange import HttpRequest
from tests.event_builder import Source, build, template

SOURCES = {
    Source.REST_API: EventSource.REST_API,
    Source.HTTP_API: EventSource.HTTP_API,
    Source.FUNCTION_URL: EventSource.HTTP_API,
    Source.ALB: EventSource.ALB,
    Source.ALB_MULTI_VALUE: EventSource.ALB,
}
EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]


def read(event: dict[str, Any], context: Any = None) -> HttpRequest:
    return lambda_events.read(event, context, lambda_events.source_of(event))


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_each_source_is_recognised(source: Source) -> None:
    assert lambda_events.source_of(template(source)) is SOURCES[source]


def _edge_event() -> dict[str, Any]:
    request = {
        "clientIp": "203.0.113.178",
        "method": "POST",
        "uri": "/v1/a%2Fb",
        "querystring": "x=1&y=%20",
        "headers": {
            "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
            "accept": [{"key": "Accept", "value": "a"}, {"key": "Accept", "value": "b"}],
        },
        "body": {"data": "eyJ9", "encoding": "base64"},
    }
    return {"Records": [{"cf": {"config": {}, "request": request}}]}


def test_a_lambda_at_edge_event_is_read() -> None:
    request = read(_edge_event())
    assert (request.method, request.path, request.query) == ("POST", "/v1/a%2Fb", "x=1&y=%20")
    assert request.headers["accept"] == "a, b"
    assert request.body == b'{"}'
    assert request.source_ip == "203.0.113.178"


@pytest.mark.parametrize(
    ("source", "path"),
    [
        pytest.param(Source.REST_API, "/a%2Fb", id="rest_api"),
        pytest.param(Source.HTTP_API, "/a/b", id="http_api-decodes-before-lambda"),
        pytest.param(Source.FUNCTION_URL, "/a%2Fb", id="function_url"),
        pytest.param(Source.ALB, "/a%2Fb", id="alb"),
        pytest.param(Source.ALB_MULTI_VALUE, "/a%2Fb", id="alb_multi_value"),
    ],
)
def test_the_path_is_what_the_source_passes_on(source: Source, path: str) -> None:
    assert read(build(source, "GET", "/a%2Fb")).path == path


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_the_query_decodes_to_what_the_client_sent(source: Source) -> None:
    sent = [("text", "a+b é&c"), ("text", "2"), ("m[k]", "/")]
    query = read(build(source, "GET", "/", query=sent)).query
    pairs = parse_pairs(query.encode(), Violations())
    expected = sent[1:] if source is Source.ALB else sent  # single-value ALB: the last wins
    assert sorted(pairs) == sorted(expected)


def test_an_alb_value_that_is_not_utf8_is_named() -> None:
    event = build(Source.ALB, "GET", "/v1/debug/ping")
    event["queryStringParameters"] = {"text": "%FF"}
    violations = Violations()
    assert parse_pairs(read(event).query.encode(), violations) == []
    assert violations.listed == [FieldViolation("text", "not valid UTF-8 after percent-decoding")]


@pytest.mark.parametrize(
    ("source", "address"),
    [
        pytest.param(Source.REST_API, "52.255.255.12", id="rest_api"),
        pytest.param(Source.HTTP_API, "205.255.255.176", id="http_api"),
        pytest.param(Source.FUNCTION_URL, "198.51.100.7", id="function_url"),
        pytest.param(Source.ALB, "72.12.164.125", id="alb"),
        pytest.param(Source.ALB_MULTI_VALUE, "72.12.164.125", id="alb_multi_value"),
    ],
)
def test_the_client_address_is_the_one_the_source_saw(source: Source, address: str) -> None:
    event = build(source, "GET", "/", headers=[("X-Forwarded-For", "10.9.9.9")])
    # An ALB appends the address it saw to whatever X-Forwarded-For the client sent.
    if source is Source.ALB:
        event["headers"]["x-forwarded-for"] = f"10.9.9.9, 10.8.8.8,{address}"
    elif source is Source.ALB_MULTI_VALUE:
        event["multiValueHeaders"]["x-forwarded-for"] = ["10.9.9.9", f"10.8.8.8, {address}"]
    assert read(event).source_ip == address


@pytest.mark.parametrize("source", [Source.REST_API, Source.HTTP_API, Source.FUNCTION_URL])
def test_the_request_id_and_authorizer_come_from_the_request_context(source: Source) -> None:
    claims = {"jwt": {"claims": {"sub": "u1"}}}
    request = read(build(source, "GET", "/", authorizer=claims, request_id="req-9"))
    assert request.request_id == "req-9"
    assert request.authorizer == claims


@pytest.mark.parametrize("source", [Source.ALB, Source.ALB_MULTI_VALUE])
def test_an_alb_request_takes_the_invocation_id(source: Source) -> None:
    context = LambdaContext(aws_request_id="inv-1")
    assert read(build(source, "GET", "/"), context).request_id == "inv-1"
    assert read(build(source, "GET", "/")).request_id  # a fresh id outside Lambda


def test_the_remaining_time_counts_down_from_the_context() -> None:
    request = read(build(Source.HTTP_API, "GET", "/"), LambdaContext(timeout_ms=5_000))
    remaining = request.remaining_ms()
    assert remaining is not None
    assert 4_000 < remaining <= 5_000
    assert read(build(Source.HTTP_API, "GET", "/")).remaining_ms() is None


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_repeated_headers_are_joined_and_names_lower_cased(source: Source) -> None:
    event = build(source, "GET", "/", headers=[("X-Custom", "a"), ("X-Custom", "b")])
    joined = read(event).headers["x-custom"]
    assert joined in ("a, b", "a,b", "b")  # single-value ALBs keep the last one


def test_http_api_cookies_become_one_cookie_header() -> None:
    assert read(template(Source.HTTP_API)).headers["cookie"] == "session=abc123; theme=dark"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_base64_body_is_decoded(source: Source) -> None:
    event = build(source, "POST", "/", body=b"\x00\xff", binary=True)
    assert read(event).body == b"\x00\xff"


def test_the_fallback_names_what_it_can() -> None:
    event = build(Source.HTTP_API, "PUT", "/x")
    request = lambda_events.fallback(event, LambdaContext(aws_request_id="inv-2"))
    assert (request.method, request.path, request.request_id) == ("PUT", "/x", "inv-2")
    assert lambda_events.fallback(["not", "a", "mapping"], None).path == "-"


def test_a_non_http_event_is_refused() -> None:
    with pytest.raises(RequestError, match=r"not an HTTP event .*its keys: a, b"):
        lambda_events.read({"a": 1, "b": 2}, None, None)


def test_an_authorizer_that_is_not_an_object_is_none() -> None:
    event = build(Source.HTTP_API, "GET", "/")
    event["requestContext"]["authorizer"] = "odd"
    assert read(event).authorizer == {}
