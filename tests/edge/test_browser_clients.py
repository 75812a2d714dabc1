"""Browser and mobile clients through the real handler and every event source: CORS
preflights and headers, gzip both ways, backend metadata as plain headers and cookies, and
conditional GETs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.settings import load
from tests.conftest import Handler
from tests.event_builder import (
    Source,
    build,
    response_body,
    response_cookies,
    response_header,
    response_json,
)

EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
APP = "https://app.example.com"
BOOK = "/v1/shelves/fiction/books/dune"

MakeHandler = Callable[..., Handler]


def preflight(source: Source, path: str, origin: str = APP, method: str = "POST") -> dict[str, Any]:
    return build(
        source,
        "OPTIONS",
        path,
        headers=[
            ("origin", origin),
            ("access-control-request-method", method),
            ("access-control-request-headers", "content-type"),
        ],
    )


# -- CORS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_preflight_is_answered_without_a_backend_with_the_paths_methods(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    # A dead backend: nothing may be called.
    handler = make_library_handler(cors_origins=(APP,), backends=(("*", "127.0.0.1:1"),))
    response = handler(preflight(source, "/v1/shelves/fiction/books"), context)
    assert response["statusCode"] == 204
    assert response_header(response, "access-control-allow-origin") == APP
    assert response_header(response, "access-control-allow-methods") == "GET, HEAD, POST"
    allowed = response_header(response, "access-control-allow-headers") or ""
    assert {"content-type", "authorization", "x-grpc-web"} <= set(allowed.split(", "))
    assert response_header(response, "access-control-max-age") == "600"
    assert response_header(response, "vary") == "Origin"
    assert response_header(response, "access-control-allow-credentials") is None
    assert response_body(response) == b""


def test_preflight_methods_come_from_the_route_table(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    handler = make_library_handler(cors_origins=("*",))
    cases = {
        "/v1/shelves/fiction": "DELETE, GET, HEAD",
        "/v1/authors/a1": "GET, HEAD, PUT",
        "/library.v1.LibraryService/GetBook": "POST",
    }
    for path, methods in cases.items():
        response = handler(preflight(Source.HTTP_API, path), context)
        assert response["statusCode"] == 204, (path, response)
        assert response_header(response, "access-control-allow-methods") == methods, path
        # `*` allows every origin; the answer names the one that asked.
        assert response_header(response, "access-control-allow-origin") == APP
    missing = handler(preflight(Source.HTTP_API, "/v2/nothing"), context)
    assert missing["statusCode"] == 404


def test_a_preflight_for_a_pass_through_call_allows_post(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    handler = make_library_handler(
        cors_origins=(APP,), default_routes=False, passthrough=load(
            {"TRANSCODER_PASSTHROUGH": "all"}
        ).passthrough,
    )  # fmt: skip
    response = handler(preflight(Source.HTTP_API, "/acme.stock.v1.Inventory/Get"), context)
    assert response["statusCode"] == 204
    assert response_header(response, "access-control-allow-methods") == "POST"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_disallowed_origin_gets_no_cors_headers(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(cors_origins=(APP,))
    refused = handler(preflight(source, BOOK, origin="https://evil.example"), context)
    assert refused["statusCode"] == 403
    assert response_header(refused, "access-control-allow-origin") is None
    event = build(source, "GET", BOOK, headers=[("origin", "https://evil.example")])
    answered = handler(event, context)
    assert answered["statusCode"] == 200  # the API answers; the browser withholds it
    assert response_header(answered, "access-control-allow-origin") is None
    assert response_header(answered, "vary") == "Origin"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_answers_and_errors_to_an_allowed_origin_carry_cors_headers(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(cors_origins=(APP, "https://other.example"))
    for path, status in ((BOOK, 200), ("/v1/shelves/fiction/books/missing", 404)):
        response = handler(build(source, "GET", path, headers=[("origin", APP)]), context)
        assert response["statusCode"] == status
        assert response_header(response, "access-control-allow-origin") == APP
        assert response_header(response, "vary") == "Origin"
        exposed = (response_header(response, "access-control-expose-headers") or "").split(", ")
        assert exposed[0] == "*"  # every Grpc-Metadata-* header, without credentials
        assert "grpc-status" in exposed


def test_credentials_are_allowed_only_with_listed_origins(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    handler = make_library_handler(
        cors_origins=(APP,), cors_allow_credentials=True, response_headers=frozenset({"etag"})
    )
    response = handler(build(Source.HTTP_API, "GET", BOOK, headers=[("origin", APP)]), context)
    assert response_header(response, "access-control-allow-credentials") == "true"
    exposed = (response_header(response, "access-control-expose-headers") or "").split(", ")
    assert "*" not in exposed  # browsers take `*` literally with credentials
    assert "etag" in exposed
    with pytest.raises(ConfigurationError, match="CORS_ALLOW_CREDENTIALS"):
        load({"TRANSCODER_CORS_ORIGINS": "*", "TRANSCODER_CORS_ALLOW_CREDENTIALS": "true"})


def test_without_cors_settings_nothing_changes(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = library_handler(preflight(Source.HTTP_API, BOOK), context)
    assert response["statusCode"] == 405  # no route answers OPTIONS
    answered = library_handler(
        build(Source.HTTP_API, "GET", BOOK, headers=[("origin", APP)]), context
    )
    assert response_header(answered, "access-control-allow-origin") is None


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TRANSCODER_CORS_ORIGINS", "app.example.com", "is not an origin"),
        ("TRANSCODER_CORS_ORIGINS", "https://a.example/path", "is not an origin"),
        ("TRANSCODER_CORS_ORIGINS", "*,https://a.example", "list no others"),
        ("TRANSCODER_CORS_ALLOW_HEADERS", "x-ok,bad header", "not a header name"),
        ("TRANSCODER_RESPONSE_HEADERS", "location,connection", "never copied"),
        ("TRANSCODER_RESPONSE_HEADERS", "content-length", "never copied"),
        ("TRANSCODER_RESPONSE_HEADERS", "trace-bin", "cannot be copied"),
        ("TRANSCODER_COMPRESSION_MIN_BYTES", "-1", "whole number >= 0"),
    ],
)
def test_invalid_settings_name_the_variable(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as raised:
        load({variable: value})
    assert variable in str(raised.value)


# -- compression ----------------------------------------------------------------------------


def _large_list(handler: Handler, context: LambdaContext, source: Source, **headers: str) -> Any:
    event = build(
        source,
        "GET",
        "/v1/books:search",
        query=[("query", "")],
        headers=list(headers.items()),
    )
    return handler(event, context)


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_large_answers_are_gzipped_for_clients_that_accept_it(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(compression_min_bytes=64)
    plain = _large_list(handler, context, source)
    assert response_header(plain, "content-encoding") is None
    assert response_header(plain, "vary") == "Accept-Encoding"
    squeezed = _large_list(handler, context, source, **{"accept-encoding": "br;q=1, gzip;q=0.5"})
    assert squeezed["statusCode"] == 200
    assert response_header(squeezed, "content-encoding") == "gzip"
    assert response_header(squeezed, "vary") == "Accept-Encoding"
    assert squeezed["isBase64Encoded"] is True
    assert gzip.decompress(response_body(squeezed)) == response_body(plain)


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip", True),
        ("*", True),
        ("*;q=0.1", True),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("identity", False),
        ("br", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_q_values_are_honoured(
    make_library_handler: MakeHandler, context: LambdaContext, accept: str, compressed: bool
) -> None:
    handler = make_library_handler(compression_min_bytes=64)
    response = _large_list(handler, context, Source.HTTP_API, **{"accept-encoding": accept})
    assert (response_header(response, "content-encoding") == "gzip") is compressed


def test_small_answers_and_the_setting_zero_are_not_compressed(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    small = make_library_handler()(
        build(Source.HTTP_API, "GET", "/v1/shelves/fiction", headers=[("accept-encoding", "gzip")]),
        context,
    )
    assert response_header(small, "content-encoding") is None
    assert response_header(small, "vary") is None  # under the 1,024-byte default
    off = make_library_handler(compression_min_bytes=0)
    response = _large_list(off, context, Source.HTTP_API, **{"accept-encoding": "gzip"})
    assert response_header(response, "content-encoding") is None
    assert response_header(response, "vary") is None


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_gzip_request_bodies_are_decompressed(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    body = gzip.compress(json.dumps({"theme": "Gzipped"}).encode())
    event = build(
        source,
        "POST",
        "/v1/shelves",
        body=body,
        binary=True,
        headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
    )
    response = library_handler(event, context)
    assert response["statusCode"] == 201, response_body(response)
    assert response_json(response)["theme"] == "Gzipped"


def test_a_gzip_bomb_is_a_fast_413_that_never_holds_the_expansion(
    make_library_handler: MakeHandler, context: LambdaContext
) -> None:
    bomb = gzip.compress(b"\x00" * (100 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200 * 1024
    handler = make_library_handler(max_request_bytes=64 * 1024)
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/shelves",
        body=bomb,
        binary=True,
        headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
    )
    response = handler(event, context)
    assert response["statusCode"] == 413
    assert "decompressed" in response_json(response)["message"]
    assert "TRANSCODER_MAX_REQUEST_BYTES" in response_json(response)["message"]


@pytest.mark.parametrize(
    ("encoding", "body", "status", "fragment"),
    [
        ("br", b"{}", 415, "unsupported Content-Encoding 'br'"),
        ("gzip, gzip", b"{}", 415, "unsupported Content-Encoding"),
        ("gzip", b"{not gzip", 400, "not valid gzip"),
        ("gzip", gzip.compress(b'{"theme": "x"}')[:-12], 400, "ends early"),
    ],
)
def test_bad_request_encodings_are_named(
    library_handler: Handler,
    context: LambdaContext,
    encoding: str,
    body: bytes,
    status: int,
    fragment: str,
) -> None:
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/shelves",
        body=body,
        binary=True,
        headers=[("content-type", "application/json"), ("content-encoding", encoding)],
    )
    response = library_handler(event, context)
    assert response["statusCode"] == status
    assert fragment in response_json(response)["message"]


def test_identity_and_concatenated_gzip_members_are_read(
    library_handler: Handler, context: LambdaContext
) -> None:
    halves = gzip.compress(b'{"theme": ') + gzip.compress(b'"Two members"}')
    for encoding, body, theme in (
        ("identity", b'{"theme": "Plain"}', "Plain"),
        ("gzip", halves, "Two members"),
    ):
        event = build(
            Source.HTTP_API,
            "POST",
            "/v1/shelves",
            body=body,
            binary=True,
            headers=[("content-type", "application/json"), ("content-encoding", encoding)],
        )
        response = library_handler(event, context)
        assert response["statusCode"] == 201, response_body(response)
        assert response_json(response)["theme"] == theme


# -- plain response headers, cookies, conditional GET ----------------------------------------


def _echo(handler: Handler, context: LambdaContext, source: Source, **changes: Any) -> Any:
    body = {
        "responseHeaders": {
            "location": "/v1/shelves/new",
            "cache-control": "no-store",
            "set-cookie": "session=abc; Path=/; HttpOnly",
            "x-internal": "kept prefixed",
        },
        "responseTrailers": {"set-cookie": "theme=dark; Path=/"},
        **changes,
    }
    event = build(
        source,
        "POST",
        "/v1/debug/metadata:echo",
        body=json.dumps(body),
        headers=[("content-type", "application/json")],
    )
    return handler(event, context)


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_configured_metadata_becomes_plain_headers_and_separate_cookies(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(
        response_headers=frozenset({"location", "cache-control", "set-cookie"})
    )
    response = _echo(handler, context, source)
    assert response["statusCode"] == 200
    assert response_header(response, "location") == "/v1/shelves/new"
    assert response_header(response, "cache-control") == "no-store"
    assert response_header(response, "x-internal") is None
    assert response_header(response, "grpc-metadata-x-internal") == "kept prefixed"
    assert response_header(response, "grpc-metadata-location") == "/v1/shelves/new"
    assert sorted(response_cookies(response)) == [
        "session=abc; Path=/; HttpOnly",
        "theme=dark; Path=/",
    ]


def test_without_the_setting_metadata_stays_prefixed(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _echo(library_handler, context, Source.HTTP_API)
    assert response_header(response, "location") is None
    assert response_cookies(response) == []
    assert response_header(response, "grpc-metadata-set-cookie") == "session=abc; Path=/; HttpOnly"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_matching_if_none_match_answers_304(
    make_library_handler: MakeHandler, context: LambdaContext, source: Source
) -> None:
    handler = make_library_handler(response_headers=frozenset({"etag", "cache-control"}))
    first = handler(build(source, "GET", BOOK), context)
    etag = response_header(first, "etag")
    assert first["statusCode"] == 200
    assert etag
    assert etag.startswith('"')
    assert response_header(first, "cache-control") == "max-age=60"
    for condition in (etag, f'"other", W/{etag}', "*"):
        again = handler(build(source, "GET", BOOK, headers=[("if-none-match", condition)]), context)
        assert again["statusCode"] == 304, condition
        assert response_body(again) == b""
        assert response_header(again, "etag") == etag
    changed = handler(build(source, "GET", BOOK, headers=[("if-none-match", '"old"')]), context)
    assert changed["statusCode"] == 200
    assert response_body(changed) == response_body(first)
