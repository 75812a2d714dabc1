"""Request metadata: forwarded headers, generated entries, authorizer identity, and what is refused."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.calling.request_metadata import MetadataPolicy, lookup
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.exchange import HttpRequest
from tests.conftest import Handler
from tests.event_builder import Source, build, response_header, response_json

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def request(
    headers: Mapping[str, str] = {},
    *,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "",
    request_id: str = "",
) -> HttpRequest:
    return HttpRequest(
        "GET",
        "/",
        headers=dict(headers),
        source_ip=source_ip,
        request_id=request_id,
        authorizer=authorizer or {},
    )


def metadata(policy: MetadataPolicy, req: HttpRequest) -> dict[str, str | bytes]:
    entries = policy.request_metadata(req)
    keys = [key for key, _ in entries]
    assert len(keys) == len(set(keys)), f"duplicate keys in {entries}"
    return dict(entries)


def test_forwarded_headers() -> None:
    policy = MetadataPolicy(forward_headers={"X-Tenant", "accept-language"})
    sent = metadata(
        policy,
        request(
            {
                "authorization": "Bearer abc",
                "x-tenant": "acme",
                "accept-language": "fr",
                "grpc-metadata-x-feature": "on",
                "grpc-metadata-trace-flag": "1",
                "cookie": "session=secret",
                "user-agent": "curl/8",
            }
        ),
    )
    assert sent == {
        "authorization": "Bearer abc",
        "x-tenant": "acme",
        "accept-language": "fr",
        "x-feature": "on",
        "trace-flag": "1",
    }


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("connection", id="connection"),
        pytest.param("keep-alive", id="keep-alive"),
        pytest.param("te", id="te"),
        pytest.param("transfer-encoding", id="transfer-encoding"),
        pytest.param("upgrade", id="upgrade"),
        pytest.param("proxy-authorization", id="proxy-authorization"),
        pytest.param("host", id="host"),
        pytest.param("content-length", id="content-length"),
        pytest.param("content-type", id="content-type"),
        pytest.param("grpc-timeout", id="grpc-timeout"),
        pytest.param("grpc-status", id="grpc-status"),
    ],
)
def test_never_forwarded_even_when_listed_or_prefixed(header: str) -> None:
    policy = MetadataPolicy(forward_headers={header})
    sent = metadata(policy, request({header: "1", f"grpc-metadata-{header}": "1"}))
    assert header not in sent


def test_binary_values_are_base64_decoded() -> None:
    policy = MetadataPolicy()
    sent = metadata(
        policy,
        request({"grpc-metadata-token-bin": "AAEC", "grpc-metadata-short-bin": "AAE"}),
    )
    assert sent == {"token-bin": b"\x00\x01\x02", "short-bin": b"\x00\x01"}


@pytest.mark.parametrize(
    ("header", "value", "logged"),
    [
        pytest.param("grpc-metadata-name", "Jos\xe9", "printable ASCII", id="latin-1-value"),
        pytest.param("grpc-metadata-name", "a\x7fb", "printable ASCII", id="control-char"),
        pytest.param("grpc-metadata-a@b", "1", "keys allow only", id="bad-key"),
        pytest.param("grpc-metadata-token-bin", "not base64!", "must be base64", id="bad-base64"),
    ],
)
def test_values_grpc_would_reject_are_skipped_with_a_log_line(
    header: str, value: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="grpc_transcoder.calling.request_metadata"):
        sent = metadata(MetadataPolicy(), request({header: value, "authorization": "ok"}))
    assert sent == {"authorization": "ok"}
    assert logged in caplog.text


def test_generated_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    headers = {
        "host": "api.example.com",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=1",
        "x-amzn-trace-id": "Root=1-5e6722a7-cc56b1a246db7ae02d4da47e",
    }
    sent = metadata(MetadataPolicy(), request(headers, source_ip="203.0.113.9", request_id="req-1"))
    assert sent == {
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-host": "api.example.com",
        "x-request-id": "req-1",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=1",
        "x-amzn-trace-id": "Root=1-5e6722a7-cc56b1a246db7ae02d4da47e",
    }


def test_lambda_trace_header_wins_over_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    own = "Root=1-5e6722a7-cc56b1a246db7ae02d4da47e;Parent=53995c3f42cd8ad8;Sampled=1"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", own)
    sent = metadata(MetadataPolicy(), request({"x-amzn-trace-id": "Root=1-00000000-x"}))
    assert sent["x-amzn-trace-id"] == own


AUTHORIZER_MAPPING = (
    ("jwt.claims.sub", "x-user-id"),
    ("jwt.claims.https://example.com/roles", "x-roles"),
    ("jwt.scopes", "x-scopes"),
    ("lambda.tenant", "x-tenant-id"),
    ("lambda.admin", "x-admin"),
    ("lambda.quota", "x-quota"),
)


@pytest.mark.parametrize(
    ("authorizer", "expected"),
    [
        pytest.param(
            {
                "jwt": {
                    "claims": {"sub": "user-1", "https://example.com/roles": "[admin reader]"},
                    "scopes": ["read", "write"],
                }
            },
            {"x-user-id": "user-1", "x-roles": "[admin reader]", "x-scopes": '["read","write"]'},
            id="http-api-jwt",
        ),
        pytest.param(
            {"lambda": {"tenant": "acme", "admin": True, "quota": 12}},
            {"x-tenant-id": "acme", "x-admin": "true", "x-quota": "12"},
            id="http-api-lambda",
        ),
        pytest.param({}, {}, id="no-data"),
        pytest.param({"jwt": "not an object"}, {}, id="wrong-shape"),
    ],
)
def test_authorizer_data_becomes_metadata(
    authorizer: dict[str, Any], expected: dict[str, str]
) -> None:
    policy = MetadataPolicy(authorizer_metadata=AUTHORIZER_MAPPING)
    assert metadata(policy, request(authorizer=authorizer)) == expected


def test_rest_api_authorizer_fields_are_top_level() -> None:
    policy = MetadataPolicy(
        authorizer_metadata=(("principalId", "x-principal"), ("claims.email", "x-email"))
    )
    sent = metadata(
        policy,
        request(authorizer={"principalId": "p-7", "claims": {"email": "a@example.com"}}),
    )
    assert sent == {"x-principal": "p-7", "x-email": "a@example.com"}


def test_client_cannot_spoof_identity_or_generated_entries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = MetadataPolicy(
        forward_headers={"x-user-id", "x-request-id", "x-forwarded-for"},
        authorizer_metadata=(("jwt.claims.sub", "x-user-id"),),
    )
    spoofed = {
        "x-user-id": "admin",
        "grpc-metadata-x-user-id": "admin",
        "x-request-id": "forged",
        "grpc-metadata-x-forwarded-for": "10.0.0.1",
        "grpc-metadata-traceparent": TRACEPARENT,
    }
    with caplog.at_level(logging.WARNING, logger="grpc_transcoder.calling.request_metadata"):
        with_identity = metadata(
            policy,
            request(spoofed, authorizer={"jwt": {"claims": {"sub": "user-1"}}}, request_id="r"),
        )
        without_identity = metadata(policy, request(spoofed))
    assert with_identity == {"x-user-id": "user-1", "x-request-id": "r"}
    assert without_identity == {}
    assert "dropped header 'x-user-id'" in caplog.text


@pytest.mark.parametrize(
    "header",
    [
        "grpc-metadata-x-user-id-bin",
        "grpc-metadata-x-forwarded-for-bin",
        "grpc-metadata-x-request-id-bin",
        "grpc-metadata-traceparent-bin",
        "grpc-metadata-content-type-bin",
        "x-user-id-bin",
    ],
)
def test_the_bin_twin_of_a_reserved_key_is_dropped_like_the_key(header: str) -> None:
    policy = MetadataPolicy(
        forward_headers={"x-user-id-bin"},
        authorizer_metadata=(("jwt.claims.sub", "x-user-id"),),
    )
    sent = metadata(policy, request({header: "YWRtaW4="}, request_id="r"))
    assert sent == {"x-request-id": "r"}


@pytest.mark.parametrize(
    "mapping",
    [
        pytest.param((("jwt.claims.sub", "x-user-bin"),), id="binary-key"),
        pytest.param((("jwt.claims.sub", "x user"),), id="space"),
        pytest.param((("", "x-user"),), id="empty-path"),
    ],
)
def test_bad_authorizer_mapping_fails_at_cold_start(mapping: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(ConfigurationError, match="TRANSCODER_AUTHORIZER_METADATA"):
        MetadataPolicy(authorizer_metadata=mapping)


@pytest.mark.parametrize(
    ("data", "path", "found"),
    [
        pytest.param({"a": {"b": 1}}, "a.b", 1, id="nested"),
        pytest.param({"a.b": 2, "a": {"b": 1}}, "a.b", 2, id="longest-key"),
        pytest.param({"a": {"b.c": 3}}, "a.b.c", 3, id="dotted-inner-key"),
        pytest.param({"a": {"b": 1}}, "a.c", None, id="missing"),
        pytest.param({"a": 1}, "a.b", None, id="through-a-scalar"),
    ],
)
def test_lookup(data: dict[str, Any], path: str, found: Any) -> None:
    assert lookup(data, path) == found


@given(st.dictionaries(st.text(max_size=5), st.integers(), max_size=4), st.text(max_size=12))
def test_lookup_finds_a_top_level_key_or_nothing(data: dict[str, int], path: str) -> None:
    found = lookup(data, path) if path else None
    assert found is None or found in data.values()


def _echo(handler: Handler, context: LambdaContext, body: str, **kwargs: Any) -> dict[str, Any]:
    event = build(Source.HTTP_API, "POST", "/v1/debug/metadata:echo", body=body, **kwargs)
    return handler(event, context)


def _received(response: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] or e["binaryValue"] for e in response_json(response)["received"]}


def test_metadata_reaches_the_backend(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(
        forward_headers=frozenset({"x-tenant"}),
        authorizer_metadata=(("jwt.claims.sub", "x-user-id"),),
    )
    response = _echo(
        handler,
        context,
        "{}",
        headers=[
            ("authorization", "Bearer t0ken"),
            ("x-tenant", "acme"),
            ("grpc-metadata-x-feature", "beta"),
            ("grpc-metadata-blob-bin", "AAEC"),
            ("x-user-id", "admin"),  # spoofed: dropped
            ("cookie", "session=1"),
        ],
        authorizer={"jwt": {"claims": {"sub": "user-42"}, "scopes": []}},
        request_id="req-abc",
    )
    assert response["statusCode"] == 200
    received = _received(response)
    assert received["authorization"] == "Bearer t0ken"
    assert received["x-tenant"] == "acme"
    assert received["x-feature"] == "beta"
    assert received["blob-bin"] == "AAEC"  # bytes, shown base64 in the JSON response
    assert received["x-user-id"] == "user-42"
    assert received["x-request-id"] == "req-abc"
    assert received["x-forwarded-for"] == "205.255.255.176"
    assert received["x-forwarded-host"] == "r3pmxmplak.execute-api.us-east-2.amazonaws.com"
    assert received["x-amzn-trace-id"].startswith("Root=")
    assert "cookie" not in received


def test_response_headers_and_trailers_come_back(
    library_handler: Handler, context: LambdaContext
) -> None:
    body = (
        '{"responseHeaders": {"x-cache": "hit", "x-http-code": "202"},'
        ' "responseTrailers": {"x-cost": "3"}}'
    )
    response = _echo(library_handler, context, body)
    assert response["statusCode"] == 202
    assert response_header(response, "grpc-metadata-x-cache") == "hit"
    assert response_header(response, "grpc-trailer-x-cost") == "3"
    assert response_header(response, "grpc-metadata-x-http-code") is None
    assert response_header(response, "grpc-metadata-content-type") is None
    assert response_header(response, "content-type") == "application/json"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("204", 204, id="no-content"),
        pytest.param("201", 201, id="created"),
        pytest.param("302", 200, id="redirect-refused"),
        pytest.param("soon", 200, id="not-a-number"),
    ],
)
def test_x_http_code_may_choose_a_2xx_status(
    library_handler: Handler, context: LambdaContext, code: str, status: int
) -> None:
    response = _echo(
        library_handler, context, f'{{"responseHeaders": {{"x-http-code": "{code}"}}}}'
    )
    assert response["statusCode"] == status
    if status == 204:
        assert not response.get("body")
    else:
        assert response_json(response)["received"]


def test_create_shelf_answers_201(library_handler: Handler, context: LambdaContext) -> None:
    event = build(Source.REST_API, "POST", "/v1/shelves", body='{"theme": "Maps"}')
    response = library_handler(event, context)
    assert response["statusCode"] == 201
    assert response_json(response)["theme"] == "Maps"


def test_binary_response_headers_are_base64(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _echo(library_handler, context, '{"responseHeaders": {"trace-bin": "abc"}}')
    assert response["statusCode"] == 200
    assert response_header(response, "grpc-metadata-trace-bin") == "YWJj"


def test_backend_refusing_metadata_is_its_own_error(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _echo(library_handler, context, '{"responseHeaders": {"Upper": "x"}}')
    assert response["statusCode"] == 400
    assert "not valid gRPC metadata" in response_json(response)["message"]
