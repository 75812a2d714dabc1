"""gRPC-Web: the framing on plain values, then round trips through the handler.

The round trips call the example library (in the descriptors) and a generic server for a service
absent from them, and read each answer as a gRPC-Web client would (tests/grpc_web_client.py).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.errors import Code, RequestError, TranscoderError
from grpc_transcoder.exchange import Metadata
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.passthrough import grpc_web, grpc_web_reply, raw_calls
from grpc_transcoder.passthrough.grpc_web import WebFormat
from grpc_transcoder.settings import Passthrough
from tests import generic_backend, grpc_web_client
from tests.conftest import AccessLines, Handler
from tests.event_builder import Source, build, response_body, response_header
from tests.grpc_web_client import GRPC_WEB, GRPC_WEB_TEXT, WebAnswer
from tests.support import parsed, serialized

LIBRARY = "/library.v1.LibraryService"
DEBUG = "/library.v1.DebugService"
STOCK = f"/{generic_backend.SERVICE}"
EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
MakeHandler = Callable[..., Handler]


# -- framing on plain values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "accept", "expected"),
    [
        pytest.param("application/grpc-web", "", WebFormat("", False, False), id="bare"),
        pytest.param(
            "application/grpc-web+proto", "", WebFormat("proto", False, False), id="proto"
        ),
        pytest.param(
            "Application/GRPC-Web-Text+proto; charset=x",
            "",
            WebFormat("proto", True, True),
            id="text-with-parameter",
        ),
        pytest.param(
            "application/grpc-web+proto",
            "application/grpc-web-text",
            WebFormat("proto", False, True),
            id="text-answer-asked-for",
        ),
        pytest.param("application/grpc-web+json", "", WebFormat("json", False, False), id="json"),
        pytest.param("application/grpc-webby", "", None, id="lookalike"),
        pytest.param("application/grpc", "", None, id="native-grpc"),
        pytest.param("application/json", "", None, id="json-body"),
    ],
)
def test_negotiate(content_type: str, accept: str, expected: WebFormat | None) -> None:
    assert grpc_web.negotiate(content_type, accept) == expected


@pytest.mark.parametrize(
    ("web", "content_type"),
    [
        pytest.param(WebFormat("", False, False), "application/grpc-web", id="bare"),
        pytest.param(WebFormat("proto", True, True), "application/grpc-web-text+proto", id="text"),
        pytest.param(
            WebFormat("proto", False, True), "application/grpc-web-text+proto", id="mixed"
        ),
    ],
)
def test_the_response_content_type_follows_the_request(web: WebFormat, content_type: str) -> None:
    assert web.content_type == content_type


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_request_frames_round_trip(messages: list[bytes]) -> None:
    assert grpc_web.parse_frames(grpc_web_client.request_body(messages)) == messages


@given(st.lists(st.binary(max_size=100), max_size=5))
def test_text_bodies_of_separately_padded_chunks_round_trip(messages: list[bytes]) -> None:
    body = grpc_web_client.request_body(messages, text=True)
    assert grpc_web.request_messages(body, WebFormat("proto", True, True)) == messages


@given(st.binary(max_size=64))
def test_any_body_parses_or_raises_request_error(data: bytes) -> None:
    try:
        messages = grpc_web.parse_frames(data)
    except RequestError as exc:
        refused = exc
    else:
        assert sum(len(m) + 5 for m in messages) == len(data)
        return
    assert refused.status in (400, 501)


@given(st.text(max_size=40))
def test_any_text_body_decodes_or_raises_request_error(text: str) -> None:
    try:
        grpc_web.decode_text(text.encode())
    except RequestError as exc:
        refused = exc
    else:
        return
    assert "not valid base64" in refused.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"\x00\x00\x00", "ends inside frame 1: its 5-byte header", id="short-header"),
        pytest.param(b"\x00\x00\x00\x00\x09abc", "a payload of 9 bytes", id="short-payload"),
        pytest.param(b"\x80\x00\x00\x00\x00", "has a trailer frame", id="trailer-sent"),
        pytest.param(b"\x40\x00\x00\x00\x00", "unknown flags 0x40", id="unknown-flag"),
        pytest.param(b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00", "frame 2 of", id="compressed"),
    ],
)
def test_bad_request_frames_are_named(data: bytes, expected: str) -> None:
    with pytest.raises(RequestError, match=expected):
        grpc_web.parse_frames(data)


def test_bad_base64_is_named() -> None:
    with pytest.raises(RequestError, match="not valid base64"):
        grpc_web.decode_text(b"AA*A")


def test_a_trailer_frame_holds_status_message_and_trailers() -> None:
    frame = grpc_web.trailer_frame(
        3, "bad 100% caf\u00e9\r\n", (("x-a", "1"), ("x-b-bin", b"\xff"), ("grpc-status", "9"))
    )
    assert frame[0] == 0x80
    assert int.from_bytes(frame[1:5], "big") == len(frame) - 5
    assert frame[5:].decode() == (
        "grpc-status: 3\r\ngrpc-message: bad 100%25 caf%C3%A9%0D%0A\r\nx-a: 1\r\nx-b-bin: /w==\r\n"
    )


def test_initial_metadata_becomes_headers_without_reserved_keys() -> None:
    initial: Metadata = (("x-a", "1"), ("x-a", "2"), ("x-b-bin", b"\x00"))
    initial += (("content-type", "x"), ("grpc-encoding", "gzip"))
    assert grpc_web.headers(initial) == {"x-a": "1, 2", "x-b-bin": "AA=="}


def test_messages_of_any_iterable_can_be_read_early(registry: Registry) -> None:
    with raw_calls.messages([b"a", b"b"]) as iterator:
        assert next(iterator) == b"a"


def test_details_that_do_not_parse_are_left_out_of_the_trailer(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = {"@type": "type.googleapis.com/acme.v1.Secret", "value": "AA=="}
    error = TranscoderError("no", code=Code.NOT_FOUND, details=[unknown])
    web = WebFormat("proto", False, False)
    with caplog.at_level(logging.WARNING, logger="grpc_transcoder"):
        reply = grpc_web_reply.error_reply(web, error, registry)
    answer = grpc_web_client.read(reply.body)
    assert (answer.status, answer.message) == (5, "no")
    assert "grpc-status-details-bin" not in answer.trailers
    assert "error details not sent in grpc-status-details-bin" in caplog.text


# -- round trips through the handler ---------------------------------------------------------


@pytest.fixture
def make(
    make_library_handler: MakeHandler,
    backend: example_backend.RunningBackend,
    stock: generic_backend.RunningGeneric,
) -> MakeHandler:
    def make_handler(**overrides: Any) -> Handler:
        overrides.setdefault("backends", (("library.v1.*", backend.target), ("*", stock.target)))
        overrides.setdefault("passthrough", Passthrough.ALL)
        return make_library_handler(**overrides)

    return make_handler


def call(
    handler: Handler,
    context: LambdaContext,
    path: str,
    messages: Sequence[bytes],
    *,
    text: bool = False,
    headers: Sequence[tuple[str, str]] = (),
    source: Source = Source.HTTP_API,
) -> tuple[dict[str, Any], WebAnswer]:
    """Send a gRPC-Web request; the HTTP response and what the client reads from its body."""
    content_type = GRPC_WEB_TEXT if text else GRPC_WEB
    event = build(
        source,
        "POST",
        path,
        headers=[("content-type", content_type), ("x-grpc-web", "1"), *headers],
        body=grpc_web_client.request_body(messages, text=text),
        binary=True,
    )
    response = handler(event, context)
    assert response["statusCode"] == 200, response_body(response)
    answer = grpc_web_client.read(response_body(response), text=text)
    assert answer.frames_after_trailer == 0
    return response, answer


@pytest.mark.parametrize("text", [pytest.param(False, id="binary"), pytest.param(True, id="text")])
def test_a_unary_call_round_trips(
    make: MakeHandler, registry: Registry, context: LambdaContext, text: bool
) -> None:
    request = serialized(registry, "GetShelfRequest", name="shelves/fiction")
    response, answer = call(make(), context, f"{LIBRARY}/GetShelf", [request], text=text)
    assert response_header(response, "content-type") == (GRPC_WEB_TEXT if text else GRPC_WEB)
    assert answer.status == 0
    assert [parsed(registry, "Shelf", m).theme for m in answer.messages] == ["Fiction"]


def test_an_error_travels_in_the_trailer_frame_with_http_200(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "GetShelfRequest", name="shelves/none")
    _, answer = call(make(), context, f"{LIBRARY}/GetShelf", [request])
    assert answer.messages == []
    assert (answer.status, answer.message) == (5, "shelf 'shelves/none' not found")


def test_a_server_stream_is_buffered_with_the_trailer_last(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "StreamRequest", count=4)
    _, answer = call(make(), context, f"{DEBUG}/Stream", [request])
    assert [parsed(registry, "StreamItem", m).index for m in answer.messages] == [0, 1, 2, 3]
    assert answer.status == 0


def test_a_stream_failing_midway_keeps_its_messages_and_ends_with_the_error(
    make: MakeHandler,
    registry: Registry,
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
    access_lines: AccessLines,
) -> None:
    request = serialized(registry, "StreamRequest", count=5, fail_after=2, fail_code=10)
    with caplog.at_level(logging.INFO, logger="grpc_transcoder"):
        _, answer = call(make(), context, f"{DEBUG}/Stream", [request])
    assert len(answer.messages) == 2
    assert (answer.status, answer.message) == (10, "failed after 2 messages")
    assert access_lines()[-1]["grpcStatus"] == "ABORTED"  # the access log records the failure
    assert "ended after 2 messages" in caplog.text


def test_a_stream_over_the_response_limit_ends_with_resource_exhausted(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "StreamRequest", count=50, payload_size=1000)
    _, answer = call(make(max_response_bytes=12_000), context, f"{DEBUG}/Stream", [request])
    assert 0 < len(answer.messages) < 50
    assert answer.status == 8
    assert "TRANSCODER_MAX_RESPONSE_BYTES" in answer.message


def test_a_unary_answer_over_the_limit_is_an_error(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "GetBookRequest", name="shelves/fiction/books/dune")
    _, answer = call(make(max_response_bytes=100), context, f"{LIBRARY}/GetBook", [request])
    assert (answer.messages, answer.status) == ([], 8)


def test_backend_details_and_trailers_are_relayed_as_sent(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    response, answer = call(make(), context, f"{STOCK}/Fail", [b""])
    assert (answer.status, answer.message) == (9, "out of stock: 100% gone")
    assert answer.trailers["x-stock-trailer"] == "t2"
    assert response_header(response, "x-served-by") == "inventory"
    status: Any = registry.new_message("google.rpc.Status")
    status.ParseFromString(answer.binary_trailer("grpc-status-details-bin"))
    assert status.details[0].type_url == "type.googleapis.com/google.rpc.ErrorInfo"


def test_metadata_comes_back_as_headers_and_trailers(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    echo: Any = registry.new_message("library.v1.EchoMetadataRequest")
    echo.response_headers["x-a"] = "1"
    echo.response_trailers["x-b"] = "2"
    response, answer = call(
        make(),
        context,
        f"{DEBUG}/EchoMetadata",
        [echo.SerializeToString()],
        headers=[("authorization", "Bearer w")],
    )
    assert response_header(response, "x-a") == "1"
    assert answer.trailers["x-b"] == "2"
    received = parsed(registry, "EchoMetadataResponse", answer.messages[0]).received
    assert {e.key: e.value for e in received}["authorization"] == "Bearer w"


@pytest.mark.parametrize(
    ("method", "messages", "expected"),
    [
        pytest.param("Get", [b"a"], [b"item:a"], id="unary"),
        pytest.param("Watch", [b"a"], [b"0:a", b"1:a", b"2:a"], id="server-streaming"),
        pytest.param("Upload", [b"a", b"b"], [b"a|b"], id="client-streaming"),
        pytest.param("Chat", [b"a", b"b"], [b"A", b"B"], id="bidi"),
    ],
)
def test_an_unknown_service_is_called_stream_stream_whatever_its_type(
    make: MakeHandler,
    context: LambdaContext,
    method: str,
    messages: list[bytes],
    expected: list[bytes],
) -> None:
    _, answer = call(make(), context, f"{STOCK}/{method}", messages)
    assert (answer.messages, answer.status) == (expected, 0)


def test_an_unknown_service_answers_its_metadata(make: MakeHandler, context: LambdaContext) -> None:
    response, answer = call(make(), context, f"{STOCK}/Get", [b"a"])
    assert response_header(response, "x-served-by") == "inventory"
    assert answer.trailers["x-stock-trailer"] == "t1"
    assert answer.binary_trailer("x-blob-bin") == b"\x00\xff"


def test_an_unknown_unary_method_fails_without_a_message(
    make: MakeHandler, context: LambdaContext
) -> None:
    _, answer = call(make(), context, f"{STOCK}/Get", [])
    assert answer.status == 12  # the server's answer to a unary call without its message


def test_a_known_unary_method_needs_exactly_one_message(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "GetShelfRequest", name="shelves/fiction")
    _, answer = call(make(), context, f"{LIBRARY}/GetShelf", [request, request])
    assert answer.status == 3
    assert "exactly one request message" in answer.message


def test_a_known_client_stream_sends_every_frame(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    chats = [serialized(registry, "ChatMessage", text=t) for t in ("a", "b", "c")]
    _, answer = call(make(), context, f"{DEBUG}/Chat", chats)
    assert [parsed(registry, "ChatMessage", m).sequence for m in answer.messages] == [1, 2, 3]


@pytest.mark.parametrize(
    ("content_type", "body", "status", "expected"),
    [
        pytest.param(GRPC_WEB, b"\x01\x00\x00\x00\x00", 12, "compressed", id="compressed"),
        pytest.param(GRPC_WEB, b"\x00\x00", 3, "5-byte header", id="truncated"),
        pytest.param(GRPC_WEB_TEXT, b"%%%%", 3, "base64", id="bad-base64"),
        pytest.param("application/grpc-web+json", b"", 12, "'json' codec", id="json-codec"),
    ],
)
def test_unreadable_requests_are_answered_in_the_trailer(
    make: MakeHandler,
    context: LambdaContext,
    content_type: str,
    body: bytes,
    status: int,
    expected: str,
) -> None:
    event = build(
        Source.HTTP_API,
        "POST",
        f"{LIBRARY}/GetShelf",
        headers=[("content-type", content_type)],
        body=body,
        binary=True,
    )
    response = make()(event, context)
    assert response["statusCode"] == 200
    answer = grpc_web_client.read(response_body(response), text=content_type == GRPC_WEB_TEXT)
    assert answer.status == status
    assert expected in answer.message


@pytest.mark.parametrize(
    ("overrides", "path", "status", "expected"),
    [
        pytest.param({"passthrough": Passthrough.OFF}, f"{LIBRARY}/GetShelf", 12, "off", id="off"),
        pytest.param({}, "/v1/shelves", 3, "Content-Type", id="a-json-route"),
        pytest.param({}, "/nowhere", 5, "no route", id="no-route"),
        pytest.param({"backends": (("*", "127.0.0.1:1"),)}, f"{STOCK}/Get", 14, "", id="down"),
    ],
)
def test_every_error_of_a_grpc_web_request_is_framed(
    make: MakeHandler,
    context: LambdaContext,
    overrides: dict[str, Any],
    path: str,
    status: int,
    expected: str,
) -> None:
    _, answer = call(make(**overrides), context, path, [b""])
    assert answer.status == status
    assert expected in answer.message


def test_the_transcoder_not_ready_is_framed_too(
    make: MakeHandler, context: LambdaContext, tmp_path: Any
) -> None:
    handler = make(descriptors=(str(tmp_path / "missing.binpb"),))
    response, answer = call(handler, context, f"{LIBRARY}/GetShelf", [b""])
    assert answer.status == 14
    assert "not ready" in answer.message
    assert response_header(response, "retry-after") is not None


def test_a_hook_rejection_carries_its_details_in_the_trailer(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "CreateShelfRequest", shelf_id="web")
    _, answer = call(
        make(hooks="tests.hooks.library_rules"), context, f"{LIBRARY}/CreateShelf", [request]
    )
    assert (answer.status, answer.message) == (3, "a shelf needs a theme")
    status: Any = registry.new_message("google.rpc.Status")
    status.ParseFromString(answer.binary_trailer("grpc-status-details-bin"))
    violation: Any = registry.new_message("google.rpc.BadRequest")
    status.details[0].Unpack(violation)
    assert violation.field_violations[0].field == "shelf.theme"


def test_response_hooks_see_each_streamed_message(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    request = serialized(registry, "StreamRequest", count=4)
    handler = make(hooks="tests.hooks.misbehaving")
    _, answer = call(handler, context, f"{DEBUG}/Stream", [request])
    assert [parsed(registry, "StreamItem", m).payload for m in answer.messages] == [
        "seen by the hook",
        "seen by the hook",
    ]
    assert (answer.status, answer.message) == (7, "item 2 is secret")


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_grpc_web_crosses_every_event_source(
    make: MakeHandler, registry: Registry, context: LambdaContext, source: Source
) -> None:
    request = serialized(registry, "StreamRequest", count=2)
    response, answer = call(make(), context, f"{DEBUG}/Stream", [request], source=source)
    assert response["isBase64Encoded"] is True
    assert len(answer.messages) == 2
    assert answer.status == 0
    text_response, text_answer = call(
        make(), context, f"{STOCK}/Get", [b"t"], source=source, text=True
    )
    assert base64.b64decode(response_body(text_response))  # the text body is base64 itself
    assert text_answer.messages == [b"item:t"]
