"""Response metadata: headers and trailers as HTTP headers, x-http-code, WWW-Authenticate."""

from __future__ import annotations

import logging

import pytest

from grpc_transcoder.encoding import response_metadata
from grpc_transcoder.exchange import Metadata


def test_headers_and_trailers_are_prefixed_and_filtered() -> None:
    initial: Metadata = (
        ("x-cache", "hit"),
        ("x-cache", "warm"),
        ("content-type", "application/grpc"),
        ("grpc-accept-encoding", "gzip"),
        ("x-http-code", "201"),
        ("trace-bin", b"\x00\xff"),
    )
    trailing: Metadata = (
        ("grpc-status", "0"),
        ("grpc-status-details-bin", b"\x08\x01"),
        ("x-cost", "3"),
    )
    assert response_metadata.headers(initial, trailing) == {
        "Grpc-Metadata-x-cache": "hit, warm",
        "Grpc-Metadata-trace-bin": "AP8=",
        "Grpc-Trailer-x-cost": "3",
    }


@pytest.mark.parametrize(
    ("initial", "trailing", "status"),
    [
        pytest.param((("x-http-code", "201"),), (), 201, id="created"),
        pytest.param((("x-http-code", "204"),), (), 204, id="no-content"),
        pytest.param((), (("x-http-code", "202"),), 202, id="from-trailers"),
        pytest.param((("x-http-code", b"202"),), (), 202, id="bytes"),
        pytest.param((("x-http-code", "404"),), (), None, id="not-2xx"),
        pytest.param((("x-http-code", "2O1"),), (), None, id="not-a-number"),
        pytest.param((), (), None, id="absent"),
    ],
)
def test_http_status(initial: Metadata, trailing: Metadata, status: int | None) -> None:
    assert response_metadata.http_status(initial, trailing) == status


def test_refused_http_code_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert response_metadata.http_status((("x-http-code", "500"),), ()) is None
    assert "ignored x-http-code '500'" in caplog.text


@pytest.mark.parametrize(
    ("initial", "trailing", "challenge"),
    [
        pytest.param((), (), "Bearer", id="default"),
        pytest.param((), (("www-authenticate", 'Basic realm="x"'),), 'Basic realm="x"', id="own"),
        pytest.param((("www-authenticate", ""),), (), "Bearer", id="empty"),
    ],
)
def test_challenge(initial: Metadata, trailing: Metadata, challenge: str) -> None:
    assert response_metadata.challenge(initial, trailing) == challenge
