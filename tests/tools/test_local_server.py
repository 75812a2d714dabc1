"""The local server: `grpc-transcoder serve`, the one-command local run, end to end over HTTP."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError

import pytest
from grpc_transcoder_tools.local_server import LambdaContext, http_api_event, response_parts

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`grpc-transcoder serve --port 0` with the example backend, as the README runs it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "grpc_transcoder_tools.cli", "serve", "--port", "0", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("grpc-transcoder serving on http://"), banner
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        examples = [process.stdout.readline() for _ in range(5)]
        assert any(f"curl {url}/v1/shelves" in line for line in examples), examples
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _call(
    url: str, method: str = "GET", body: bytes | None = None, content_type: str = ""
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback only
    if content_type:
        request.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_get_through_the_local_server(served: str) -> None:
    status, headers, body = _call(f"{served}/v1/shelves/fiction/books/dune")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["title"] == "Dune"


def test_a_post_through_the_local_server(served: str) -> None:
    status, _, body = _call(
        f"{served}/v1/shelves", "POST", b'{"theme": "Poetry"}', "application/json"
    )
    assert status == 201  # the example backend sets x-http-code for CreateShelf
    assert json.loads(body)["theme"] == "Poetry"


def test_an_error_through_the_local_server(served: str) -> None:
    status, _, body = _call(f"{served}/v1/authors/nobody")
    assert status == 404
    assert json.loads(body) == {"code": 5, "message": "author 'nobody' not found", "details": []}


def test_a_binary_answer_through_the_local_server(served: str) -> None:
    status, headers, body = _call(f"{served}/v1/shelves/fiction/books/dune/cover")
    assert status == 200
    assert headers["content-type"] == "image/png"
    assert body.startswith(b"\x89PNG")


def test_a_text_body_that_is_not_utf8_travels_base64(served: str) -> None:
    status, _, _ = _call(
        f"{served}/v1/shelves/fiction/books/earthsea/cover", "PUT", b"\xff\xfe", "text/plain"
    )
    assert status == 200
    _, headers, body = _call(f"{served}/v1/shelves/fiction/books/earthsea/cover")
    assert headers["content-type"] == "text/plain"
    assert body == b"\xff\xfe"


@pytest.mark.parametrize(
    ("content_type", "body", "base64_encoded"),
    [
        pytest.param("application/json", b'{"a": 1}', False, id="json-text"),
        pytest.param("text/plain", b"\xff\xfe", True, id="text-not-utf8"),
        pytest.param("image/png", b"\x89PNG", True, id="binary"),
        pytest.param("", b"", False, id="empty"),
    ],
)
def test_event_bodies_follow_api_gateway(
    content_type: str, body: bytes, base64_encoded: bool
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = http_api_event("PUT", "/v1/x", headers, body)
    assert event["isBase64Encoded"] is base64_encoded
    sent = event.get("body", "")
    assert (base64.b64decode(sent) if base64_encoded else sent.encode()) == body


def test_event_shape_matches_http_api() -> None:
    event = http_api_event(
        "GET",
        "/v1/a%2Fb?x=1&x=2&y=%2B",
        [("Cookie", "a=1; b=2"), ("X-Many", "1"), ("X-Many", "2")],
        b"",
        source_ip="10.0.0.1",
    )
    assert event["rawPath"] == "/v1/a/b"  # API Gateway decodes the path
    assert event["rawQueryString"] == "x=1&x=2&y=%2B"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "+"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-many"] == "1,2"
    assert event["requestContext"]["http"]["sourceIp"] == "10.0.0.1"


def test_response_parts_of_both_payload_versions() -> None:
    response: dict[str, Any] = {
        "statusCode": 201,
        "headers": {"content-type": "image/png"},
        "multiValueHeaders": {"x-a": ["1", "2"]},
        "cookies": ["s=1"],
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }
    status, headers, body = response_parts(response)
    assert status == 201
    assert ("x-a", "2") in headers
    assert ("set-cookie", "s=1") in headers
    assert body == b"\x00\x01"


def test_the_context_counts_down() -> None:
    context = LambdaContext(timeout_ms=1_000)
    first = context.get_remaining_time_in_millis()
    assert 0 < first <= 1_000
    assert LambdaContext(timeout_ms=0).get_remaining_time_in_millis() == 0
