"""The Connect protocol on plain values, then through the handler with real Lambda events.

What a Connect client cannot be made to send (hostile envelopes, bad GET queries, other
protocol versions), what a backend may send (metadata that must not become headers), and how
Connect lives beside the default route, pass-through and REST.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import pytest
from connectrpc import _protocol as connect_reference
from connectrpc.code import Code as ConnectCode
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.calling.deadlines import parse_connect_timeout
from grpc_transcoder.connect import envelopes, error_body, metadata, protocol
from grpc_transcoder.connect.protocol import ConnectFormat, Form
from grpc_transcoder.errors import Code, RequestError, http_status
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.loading.registry import Registry
from tests.conftest import Handler
from tests.event_builder import Source, build, response_body, response_header
from tests.support import parsed, serialized

LIBRARY = "/library.v1.LibraryService"
DEBUG = "/library.v1.DebugService"
CONNECT = (("connect-protocol-version", "1"),)
EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]


# -- plain values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "query", "expected"),
    [
        ("POST", "/a.B/C", {"content-type": "application/json", **dict(CONNECT)}, "",
         ConnectFormat(Form.UNARY, "json", "a.B", "C")),
        ("POST", "/a.B/C", {"content-type": "application/proto", **dict(CONNECT)}, "",
         ConnectFormat(Form.UNARY, "proto", "a.B", "C")),
        ("POST", "/a.B/C", {"content-type": "Application/Connect+JSON; charset=utf-8"}, "",
         ConnectFormat(Form.STREAM, "json", "a.B", "C")),
        ("GET", "/a.B/C", {}, "connect=v1&encoding=proto&message=",
         ConnectFormat(Form.GET, "proto", "a.B", "C")),
        ("POST", "/a.B/C", {"content-type": "application/json"}, "", None),  # the default route
        ("POST", "/a.B/C", {"content-type": "application/proto"}, "", None),  # pass-through
        ("POST", "/v1/shelves", {"content-type": "application/json", **dict(CONNECT)}, "", None),
        ("GET", "/a.B/C", {}, "message=x", None),
        ("PUT", "/a.B/C", {"content-type": "application/json", **dict(CONNECT)}, "", None),
        ("POST", "/Greeter/Hi", {"content-type": "application/json", **dict(CONNECT)}, "",
         ConnectFormat(Form.UNARY, "json", "Greeter", "Hi")),  # a loaded service, no package
        ("GET", "/a.B/C", {}, "reconnect=v1&message=x", None),
        ("GET", "/a.B/C", {}, "x=1&" * 100 + "connect=v1", ConnectFormat(Form.GET, "", "a.B", "C")),
        ("POST", "/a/b/C", {"content-type": "application/json", **dict(CONNECT)}, "", None),
    ],
)  # fmt: skip
def test_connect_calls_are_told_from_other_requests(
    method: str, path: str, headers: dict[str, str], query: str, expected: ConnectFormat | None
) -> None:
    request = HttpRequest(method, path, query, headers)
    assert protocol.negotiate(request, "", services=("Greeter",)) == expected


def test_a_base_path_is_stripped_before_the_method_is_read() -> None:
    request = HttpRequest(
        "POST", "/api/a.B/C", "", {"content-type": "application/proto", **dict(CONNECT)}
    )
    assert protocol.negotiate(request, "/api") == ConnectFormat(Form.UNARY, "proto", "a.B", "C")
    assert protocol.negotiate(request, "/other") is None


def test_code_names_and_statuses_are_connects() -> None:
    for code in Code:
        if code is Code.OK:
            continue
        name = error_body.code_name(code)
        reference = ConnectCode(name)  # raises for a name Connect does not have
        assert http_status(code) == connect_reference._error_to_http_status[reference].code
    assert error_body.code_name(0) == error_body.code_name(99) == "unknown"


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("2500", 2.5), ("9999999999", 9999999.999)]
)
def test_connect_timeouts_are_milliseconds(text: str, seconds: float) -> None:
    assert parse_connect_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "-5", "1.5", "12345678901", "1e3", "\uff15"])
def test_other_connect_timeouts_are_refused(text: str) -> None:
    with pytest.raises(RequestError, match="Connect-Timeout-Ms"):
        parse_connect_timeout(text)


def _envelope(data: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(data)) + data


def test_request_envelopes_are_read_and_inflated() -> None:
    body = _envelope(b"one") + _envelope(gzip.compress(b"two"), flags=1) + _envelope(b"")
    assert envelopes.read(body, "gzip", max_bytes=100) == [b"one", b"two", b""]
    assert envelopes.read(b"", "", max_bytes=100) == []


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        (b"\x00\x00\x00", "", "inside the 5-byte prefix of message 1"),
        (_envelope(b"x") + b"\x00\x00\x00\x00\x09abc", "", "ends inside message 2: 9 bytes"),
        (_envelope(b"x", flags=1), "", "names no Connect-Content-Encoding"),
        (_envelope(b"{}", flags=2), "", "end-of-stream message"),
        (_envelope(b"x", flags=0x80), "", "flags 0x80"),
        (_envelope(b"not gzip", flags=1), "gzip", "message 1 of the Connect stream is not valid gzip"),
        (_envelope(b"x"), "br", "unsupported Connect-Content-Encoding"),
    ],
)  # fmt: skip
def test_broken_request_streams_are_refused(body: bytes, encoding: str, expected: str) -> None:
    with pytest.raises(RequestError, match=expected):
        envelopes.read(body, encoding, max_bytes=1000)


def test_a_compressed_bomb_stops_at_the_size_limit() -> None:
    bomb = _envelope(gzip.compress(b"\x00" * (64 * 1024 * 1024)), flags=1)
    with pytest.raises(RequestError) as caught:
        envelopes.read(_envelope(b"x" * 10) + bomb, "gzip", max_bytes=1024 * 1024)
    assert caught.value.status == 413
    assert caught.value.grpc_code == Code.RESOURCE_EXHAUSTED


def test_reading_stops_one_message_past_the_limit() -> None:
    body = _envelope(b"x") * 1000
    assert len(envelopes.read(body, "", max_bytes=10_000, limit=3)) == 4


def test_answer_envelopes_compress_large_messages_only() -> None:
    writer = envelopes.Writer(min_bytes=100)
    small, large = writer.message(b"a" * 10), writer.message(b"a" * 1000)
    assert small == _envelope(b"a" * 10)
    assert large[0] == envelopes.FLAG_COMPRESSED
    assert gzip.decompress(large[5:]) == b"a" * 1000
    assert envelopes.Writer(min_bytes=0).message(b"a" * 1000) == _envelope(b"a" * 1000)
    end = writer.end({"code": "internal", "message": "m"}, {"x-cost": ["7"]})
    assert end[0] == envelopes.FLAG_END_STREAM
    assert json.loads(end[5:]) == {
        "error": {"code": "internal", "message": "m"},
        "metadata": {"x-cost": ["7"]},
    }


def test_backend_metadata_never_forges_protocol_or_browser_headers() -> None:
    sent = (
        ("x-shelf", "2"),
        ("x-shelf", "3"),
        ("x-blob-bin", b"\x00\x01"),
        ("set-cookie", "session=stolen"),
        ("access-control-allow-origin", "*"),
        ("content-type", "text/html"),
        ("grpc-status", "0"),
        ("connect-content-encoding", "br"),
        ("transfer-encoding", "chunked"),
        ("x-split", "a\r\nx-injected: 1"),
    )
    assert metadata.headers(sent) == {"x-shelf": "2, 3", "x-blob-bin": "AAE"}
    assert metadata.trailer_headers(sent) == {
        "trailer-x-shelf": "2, 3",
        "trailer-x-blob-bin": "AAE",
    }
    assert metadata.end_stream_metadata(sent) == {"x-shelf": ["2", "3"], "x-blob-bin": ["AAE"]}


def _get(query: Sequence[tuple[str, str]]) -> HttpRequest:
    text = "&".join(f"{key}={quote(value, safe='')}" for key, value in query)
    return HttpRequest("GET", "/a.B/C", text)


@pytest.mark.parametrize(
    "query",
    [
        [("connect", "v1"), ("encoding", "json"), ("message", '{"a":1}')],
        [("encoding", "json"), ("message", "eyJhIjoxfQ"), ("base64", "1"), ("connect", "v1")],
        [("connect", "v1"), ("encoding", "json"), ("message", "eyJhIjoxfQ=="), ("base64", "1")],
        [
            ("connect", "v1"),
            ("encoding", "json"),
            ("message", base64.urlsafe_b64encode(gzip.compress(b'{"a":1}')).decode()),
            ("base64", "1"),
            ("compression", "gzip"),
        ],
    ],
    ids=["plain", "base64-unpadded", "base64-padded", "gzip"],
)
def test_get_messages_are_decoded(query: list[tuple[str, str]]) -> None:
    assert protocol.get_message(_get(query), 1000) == b'{"a":1}'
    # Parameters of others (a cache buster, a CDN's) are ignored.
    assert protocol.get_message(_get([*query, ("_", "1733")]), 1000) == b'{"a":1}'


def test_empty_compressed_payloads_are_empty() -> None:
    query = [("connect", "v1"), ("encoding", "proto"), ("message", ""), ("compression", "gzip")]
    assert protocol.get_message(_get(query), 1000) == b""
    assert envelopes.read(_envelope(b"", flags=1), "gzip", max_bytes=100) == [b""]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([("connect", "v1"), ("encoding", "json")], "needs the request message"),
        ([("connect", "v1"), ("message", "$$$"), ("base64", "1")], "not valid base64"),
        ([("connect", "v1"), ("message", "x"), ("compression", "br")], "unsupported compression"),
        ([("connect", "v1"), ("message", "x" * 2000)], "limit is 1000 bytes"),
        ([("connect", "v1"), ("message", "x" * 5000)], "over the limit of 1000 bytes"),
        ([("x", "1")] * 70, "at most 64 parameters"),
    ],
)
def test_bad_get_queries_are_refused(query: list[tuple[str, str]], expected: str) -> None:
    with pytest.raises(RequestError, match=expected):
        protocol.get_message(_get(query), 1000)


# -- through the handler ----------------------------------------------------------------------


def _call(
    handler: Handler,
    path: str,
    body: bytes | str,
    *,
    content_type: str = "application/json",
    headers: Sequence[tuple[str, str]] = CONNECT,
    source: Source = Source.HTTP_API,
    method: str = "POST",
    query: Sequence[tuple[str, str]] = (),
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    binary = content_type != "application/json"
    data = body.encode() if isinstance(body, str) else body
    event = build(
        source,
        method,
        path,
        query=query,
        headers=[("content-type", content_type), *headers],
        body=data if method == "POST" else None,
        binary=binary,
        authorizer=authorizer,
    )
    return handler(event, LambdaContext(timeout_ms=10_000))


def _frames(body: bytes) -> list[tuple[int, bytes]]:
    found = []
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        found.append((flags, body[5 : 5 + length]))
        body = body[5 + length :]
    return found


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_unary_protobuf_calls_through_every_event_source(
    library_handler: Handler, registry: Registry, source: Source
) -> None:
    request = serialized(registry, "GetShelfRequest", name="shelves/fiction")
    response = _call(
        library_handler, f"{LIBRARY}/GetShelf", request, content_type="application/proto",
        source=source,
    )  # fmt: skip
    assert response["statusCode"] == 200
    assert response_header(response, "content-type") == "application/proto"
    assert parsed(registry, "Shelf", response_body(response)).theme == "Fiction"


@pytest.mark.parametrize("source", EVERY_SOURCE)
@pytest.mark.parametrize("accept", ["", "gzip"])
def test_streams_through_every_event_source(
    library_handler: Handler, source: Source, accept: str
) -> None:
    # 3,000-byte messages: frame prefixes that are not UTF-8, compressed when accepted.
    body = _envelope(b'{"count": 2, "payloadSize": 3000}')
    response = _call(
        library_handler, f"{DEBUG}/Stream", body, content_type="application/connect+json",
        source=source, headers=(("connect-accept-encoding", accept),),
    )  # fmt: skip
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response_header(response, "content-type") == "application/connect+json"
    assert response_header(response, "connect-content-encoding") == (accept or None)
    frames = _frames(response_body(response))
    assert [flags for flags, _ in frames] == [1 if accept else 0] * 2 + [2]
    messages = [gzip.decompress(data) if flags else data for flags, data in frames[:2]]
    assert [json.loads(data)["index"] for data in messages] == [0, 1]
    assert [len(json.loads(data)["payload"]) for data in messages] == [3000, 3000]
    assert json.loads(frames[2][1]) == {}


def test_a_decoding_error_names_the_field_in_connect_details(library_handler: Handler) -> None:
    response = _call(library_handler, f"{LIBRARY}/CreateShelf", '{"shelf": {"theme": 5}}')
    assert response["statusCode"] == 400
    assert response_header(response, "content-type") == "application/json"
    error = json.loads(response_body(response))
    assert error["code"] == "invalid_argument"
    assert "shelf.theme" in error["message"]
    [detail] = error["details"]
    assert detail["type"] == "google.rpc.BadRequest"
    value = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
    [violation] = error_details_pb2.BadRequest.FromString(value).field_violations
    assert violation.field == "shelf.theme"
    assert detail["debug"]["fieldViolations"][0]["field"] == "shelf.theme"
    assert not detail["value"].endswith("=")


@pytest.mark.parametrize(
    ("path", "body", "options", "status", "code", "text"),
    [
        (f"{LIBRARY}/Nope", "{}", {}, 501, "unimplemented", "has no method Nope"),
        ("/acme.v1.Store/Get", "{}", {}, 501, "unimplemented", "not in the loaded descriptors"),
        (f"{LIBRARY}/ListShelves", "{}", {"content_type": "application/xml"}, 415,
         "unimplemented", "unsupported Connect codec 'xml'"),
        (f"{LIBRARY}/ListShelves", "{}", {"headers": (("connect-protocol-version", "2"),)},
         400, "invalid_argument", "protocol version '2'"),
        (f"{LIBRARY}/ListShelves", "[1]", {}, 400, "invalid_argument", "must be a JSON object"),
        (f"{LIBRARY}/ListShelves", "{", {}, 400, "invalid_argument", "not valid JSON"),
        (f"{DEBUG}/Stream", "{}", {}, 415, "unimplemented", "call it as a Connect stream"),
        (f"{DEBUG}/Sleep", "{}", {"headers": (*CONNECT, ("connect-timeout-ms", "soon"))}, 400,
         "invalid_argument", "invalid Connect-Timeout-Ms"),
        (f"{LIBRARY}/ListShelves", "{}", {"method": "GET", "query": (("connect", "v1"),
         ("encoding", "json"), ("message", "{}"))}, 405, "unimplemented", "NO_SIDE_EFFECTS"),
    ],
)  # fmt: skip
def test_refusals_are_connect_errors(
    library_handler: Handler,
    path: str,
    body: str,
    options: dict[str, Any],
    status: int,
    code: str,
    text: str,
) -> None:
    response = _call(library_handler, path, body, **options)
    assert response["statusCode"] == status, response_body(response)
    error = json.loads(response_body(response))
    assert error["code"] == code
    assert text in error["message"]
    if status == 405:
        assert response_header(response, "allow") == "POST"


def test_an_unreadable_encoding_is_unimplemented_naming_gzip(library_handler: Handler) -> None:
    headers = (*CONNECT, ("content-encoding", "br"))
    unary = _call(library_handler, f"{LIBRARY}/ListShelves", "{}", headers=headers)
    assert unary["statusCode"] == 501
    assert json.loads(response_body(unary))["code"] == "unimplemented"
    assert response_header(unary, "accept-encoding") == "gzip"
    stream = _call(library_handler, f"{DEBUG}/Stream", _envelope(b"{}"),
                   content_type="application/connect+json",
                   headers=(("connect-content-encoding", "zstd"),))  # fmt: skip
    assert response_header(stream, "connect-accept-encoding") == "gzip"
    [(_, data)] = _frames(response_body(stream))
    assert json.loads(data)["error"]["code"] == "unimplemented"
    empty = _call(library_handler, f"{LIBRARY}/ListShelves", "",
                  headers=(*CONNECT, ("content-encoding", "gzip")))  # fmt: skip
    assert empty["statusCode"] == 200


def test_an_empty_connect_timeout_is_no_timeout(library_handler: Handler) -> None:
    headers = (*CONNECT, ("connect-timeout-ms", ""))
    response = _call(library_handler, f"{DEBUG}/Sleep", "{}", headers=headers)
    assert response["statusCode"] == 200, response_body(response)


def test_a_unary_answer_too_large_for_a_stream_ends_with_resource_exhausted(
    make_library_handler: Any,
) -> None:
    handler = make_library_handler(max_response_bytes=2_000)
    body = _envelope(json.dumps({"fString": "x" * 5_000}).encode())
    response = _call(handler, f"{DEBUG}/EchoKinds", body, content_type="application/connect+json",
                     headers=())  # fmt: skip
    [(flags, data)] = _frames(response_body(response))
    assert flags == envelopes.FLAG_END_STREAM
    assert json.loads(data)["error"]["code"] == "resource_exhausted"


def test_a_proto_get_reads_its_base64_message(library_handler: Handler, registry: Registry) -> None:
    message = base64.urlsafe_b64encode(serialized(registry, "GetLibraryInfoRequest")).decode()
    query = (("connect", "v1"), ("encoding", "proto"), ("base64", "1"), ("message", message))
    response = _call(library_handler, f"{LIBRARY}/GetLibraryInfo", "", method="GET", query=query)
    assert response["statusCode"] == 200
    assert response_header(response, "content-type") == "application/proto"
    assert parsed(registry, "LibraryInfo", response_body(response)).name == "Example library"


def test_stream_failures_end_in_the_end_of_stream_message(library_handler: Handler) -> None:
    stream = "application/connect+json"
    bad = _call(library_handler, f"{DEBUG}/Stream", _envelope(b'{"count": "many"}'),
                content_type=stream, headers=())  # fmt: skip
    assert bad["statusCode"] == 200
    [(flags, data)] = _frames(response_body(bad))
    assert flags == envelopes.FLAG_END_STREAM
    assert json.loads(data)["error"]["code"] == "invalid_argument"
    bomb = _envelope(gzip.compress(b" " * (32 * 1024 * 1024)), flags=1)
    inflated = _call(library_handler, f"{DEBUG}/Stream", bomb, content_type=stream,
                     headers=(("connect-content-encoding", "gzip"),))  # fmt: skip
    [(_, data)] = _frames(response_body(inflated))
    assert json.loads(data)["error"]["code"] == "resource_exhausted"
    two = _call(library_handler, f"{DEBUG}/Stream", _envelope(b"{}") * 2, content_type=stream,
                headers=())  # fmt: skip
    [(_, data)] = _frames(response_body(two))
    assert "exactly one request message" in json.loads(data)["error"]["message"]


def test_a_stream_too_large_for_the_response_limit_ends_with_resource_exhausted(
    make_library_handler: Any,
) -> None:
    handler = make_library_handler(max_response_bytes=20_000)
    body = _envelope(b'{"count": 10, "payloadSize": 5000}')
    response = _call(handler, f"{DEBUG}/Stream", body, content_type="application/connect+json",
                     headers=())  # fmt: skip
    frames = _frames(response_body(response))
    assert 0 < len(frames) - 1 < 10
    assert json.loads(frames[-1][1])["error"]["code"] == "resource_exhausted"


def test_trailers_of_a_stream_arrive_in_the_end_of_stream_message(library_handler: Handler) -> None:
    body = _envelope(b'{"responseTrailers": {"x-cost": "7"}, "responseHeaders": {"x-a": "1"}}')
    response = _call(library_handler, f"{DEBUG}/EchoMetadata", body,
                     content_type="application/connect+json", headers=())  # fmt: skip
    assert response_header(response, "x-a") == "1"
    frames = _frames(response_body(response))
    assert json.loads(frames[-1][1]) == {"metadata": {"x-cost": ["7"]}}


def test_hooks_apply_to_connect_calls(make_library_handler: Any) -> None:
    handler = make_library_handler(hooks="tests.hooks.library_rules")
    reader = {"jwt": {"claims": {"sub": "bob", "scope": "read"}}}
    refused = _call(handler, f"{LIBRARY}/CreateShelf", '{"shelf": {"theme": " "}}',
                    authorizer=reader)  # fmt: skip
    assert refused["statusCode"] == 400
    assert json.loads(response_body(refused))["message"] == "a shelf needs a theme"
    body = _envelope(b'{"parent": "shelves/fiction"}')
    streamed = _call(handler, f"{LIBRARY}/StreamBooks", body,
                     content_type="application/connect+json", headers=(), authorizer=reader)  # fmt: skip
    books = [json.loads(data) for flags, data in _frames(response_body(streamed)) if flags == 0]
    assert books
    assert {book["copiesSold"] for book in books} == {"0"}


def test_without_connect_the_default_route_and_pass_through_answer_as_before(
    make_library_handler: Any, registry: Registry
) -> None:
    on, off = make_library_handler(), make_library_handler(connect=False)
    plain = _call(on, f"{LIBRARY}/GetShelf", '{"name": "shelves/nope"}', headers=())
    assert json.loads(response_body(plain))["code"] == 5  # the default route's error body
    proto = serialized(registry, "GetShelfRequest", name="shelves/nope")
    passed = _call(on, f"{LIBRARY}/GetShelf", proto, content_type="application/proto", headers=())
    assert json.loads(response_body(passed))["code"] == 5  # pass-through's
    connect = _call(on, f"{LIBRARY}/GetShelf", '{"name": "shelves/nope"}')
    assert json.loads(response_body(connect))["code"] == "not_found"
    turned_off = _call(off, f"{LIBRARY}/GetShelf", '{"name": "shelves/nope"}')
    assert json.loads(response_body(turned_off))["code"] == 5
    stream = _call(off, f"{DEBUG}/Stream", _envelope(b"{}"),
                   content_type="application/connect+json", headers=())  # fmt: skip
    assert json.loads(response_body(stream))["code"] == 3  # read as the default route's JSON


def test_not_ready_answers_connect_clients_in_their_format(make_library_handler: Any) -> None:
    handler = make_library_handler(descriptors=("/nonexistent/set.binpb",))
    response = _call(handler, f"{LIBRARY}/ListShelves", "{}")
    assert response["statusCode"] == 503
    assert json.loads(response_body(response))["code"] == "unavailable"
    stream = _call(handler, f"{DEBUG}/Stream", _envelope(b"{}"),
                   content_type="application/connect+proto", headers=())  # fmt: skip
    assert stream["statusCode"] == 200
    [(_, data)] = _frames(response_body(stream))
    assert json.loads(data)["error"]["code"] == "unavailable"


def test_a_preflight_allows_get_for_no_side_effects_methods(make_library_handler: Any) -> None:
    handler = make_library_handler(cors_origins=("https://app.example.com",))
    headers = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "connect-protocol-version,connect-timeout-ms"),
    ]
    info = handler(build(Source.HTTP_API, "OPTIONS", f"{LIBRARY}/GetLibraryInfo", headers=headers),
                   LambdaContext())  # fmt: skip
    assert info["statusCode"] == 204
    assert response_header(info, "access-control-allow-methods") == "GET, POST"
    shelves = handler(build(Source.HTTP_API, "OPTIONS", f"{LIBRARY}/ListShelves", headers=headers),
                      LambdaContext())  # fmt: skip
    assert response_header(shelves, "access-control-allow-methods") == "POST"
    allowed = response_header(info, "access-control-allow-headers") or ""
    assert "connect-protocol-version" in allowed.lower()
