"""Hostile events: every event gets a JSON answer from the pipeline, and the client address the
backend receives is the one the event source saw.

ALB events carry the client's own Host and X-Forwarded-For; paths may hold any byte. None of
them may escape the handler, be answered by anything but the pipeline, or redirect.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from tests.conftest import Handler
from tests.event_builder import Source, build, response_body, response_header

EVERY_SOURCE = [pytest.param(s, id=s.value) for s in Source]
ALBS = [pytest.param(Source.ALB, id="alb"), pytest.param(Source.ALB_MULTI_VALUE, id="alb-mv")]


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    if "multiValueHeaders" in event and event["multiValueHeaders"] is not None:
        event["multiValueHeaders"][name] = [value]
    if "headers" in event and event["headers"] is not None:
        event["headers"][name] = value


@pytest.mark.parametrize("source", ALBS)
@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("host", "[::1]"),
        ("host", "[2001:db8::1]:8443"),
        ("host", "example.com:abc"),
        ("host", "a:b:c"),
        ("x-forwarded-port", "eighty"),
        ("x-forwarded-proto", "\u00e9"),
    ],
)
def test_a_client_chosen_host_is_served_like_any_other(
    library_handler: Handler, context: LambdaContext, source: Source, header: str, value: str
) -> None:
    event = build(source, "GET", "/v1/shelves")
    _set_header(event, header, value)
    response = library_handler(event, context)
    assert response["statusCode"] == 200
    assert "shelves" in orjson.loads(response_body(response))


@pytest.mark.parametrize("source", EVERY_SOURCE)
@pytest.mark.parametrize(
    "path",
    ["/v1/shelves%0Ax", "/%0A/", "/v1/shelves/", "//", "/%00", "/%FF%FE", "/\u00e9", "/a" * 5000],
    ids=[
        "newline",
        "newline-segment",
        "trailing-slash",
        "double-slash",
        "nul",
        "not-utf8",
        "non-ascii",
        "long",
    ],
)
def test_any_path_is_routed_and_answered_in_json(
    library_handler: Handler, context: LambdaContext, source: Source, path: str
) -> None:
    event = build(source, "GET", path)
    _set_header(event, "host", "evil.example")
    response = library_handler(event, context)
    assert response["statusCode"] in (200, 400, 404)
    assert response_header(response, "content-type") == "application/json"
    assert response_header(response, "location") is None  # never a redirect
    answer = orjson.loads(response_body(response))
    assert "shelves" in answer if response["statusCode"] == 200 else "code" in answer


@pytest.mark.parametrize("source", EVERY_SOURCE)
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", ""])
def test_any_method_is_answered_in_json(
    library_handler: Handler, context: LambdaContext, source: Source, method: str
) -> None:
    response = library_handler(build(source, method, "/v1/shelves"), context)
    assert response["statusCode"] in (404, 405)
    assert "code" in orjson.loads(response_body(response))


def _received(response: dict[str, Any]) -> dict[str, str]:
    entries = orjson.loads(response_body(response))["received"]
    return {entry["key"]: entry.get("value", "") for entry in entries}


@pytest.mark.parametrize(
    ("source", "seen"),
    [
        pytest.param(Source.REST_API, "52.255.255.12", id="rest_api"),
        pytest.param(Source.HTTP_API, "205.255.255.176", id="http_api"),
        pytest.param(Source.FUNCTION_URL, "198.51.100.7", id="function_url"),
        pytest.param(Source.ALB, "72.12.164.125", id="alb"),
        pytest.param(Source.ALB_MULTI_VALUE, "72.12.164.125", id="alb_multi_value"),
    ],
)
def test_the_backend_receives_the_address_the_source_saw(
    library_handler: Handler, context: LambdaContext, source: Source, seen: str
) -> None:
    event = build(
        source,
        "POST",
        "/v1/debug/metadata:echo",
        body="{}",
        headers=[
            ("content-type", "application/json"),
            ("Grpc-Metadata-X-Forwarded-For", "1.2.3.4"),
        ],
    )
    _set_header(event, "x-forwarded-for", f"10.9.9.9, 10.8.8.8, {seen}")
    received = _received(library_handler(event, context))
    assert received["x-forwarded-for"] == seen
