"""Connect clients through the function: the `connectrpc` Python client and its generated code
against the local server (real HTTP, real HTTP API events, the real handler, the example
backend), in both codecs.

Each test asserts what a Connect application would see: messages, error codes and details,
deadlines, GET, streams in both directions, compression and metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from connectrpc.client import ResponseMetadata
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.errors import ConnectError
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from tests.conftest import AccessLines
from tests.connect.conftest import Stubs

CODECS = [pytest.param(None, id="proto"), pytest.param("json", id="json")]


def _options(codec: str | None) -> dict[str, Any]:
    return {} if codec is None else {"codec": google_protobuf_json_codec()}


@pytest.fixture(params=CODECS)
def library(request: pytest.FixtureRequest, stubs: Stubs, connect_url: str) -> Iterator[Any]:
    with stubs.connect.LibraryServiceClientSync(connect_url, **_options(request.param)) as client:
        yield client


@pytest.fixture(params=CODECS)
def debug(request: pytest.FixtureRequest, stubs: Stubs, connect_url: str) -> Iterator[Any]:
    with stubs.connect.DebugServiceClientSync(connect_url, **_options(request.param)) as client:
        yield client


def test_unary_calls_answer_the_backends_messages(library: Any, stubs: Stubs) -> None:
    pb = stubs.pb
    created = library.create_shelf(pb.CreateShelfRequest(shelf=pb.Shelf(theme="Connect")))
    assert created.theme == "Connect"
    assert created.name.startswith("shelves/")
    assert library.get_shelf(pb.GetShelfRequest(name=created.name)) == created
    names = [shelf.name for shelf in library.list_shelves(pb.ListShelvesRequest()).shelves]
    assert created.name in names
    library.delete_shelf(pb.DeleteShelfRequest(name=created.name))


def test_every_field_kind_round_trips(debug: Any, stubs: Stubs) -> None:
    pb = stubs.pb
    sent = pb.Kinds(
        f_string="héllo ✓",
        f_bytes=b"\x00\xff",
        f_int64=-(2**62),
        f_uint64=2**64 - 1,
        f_double=float("inf"),
        f_bool=True,
    )
    assert debug.echo_kinds(sent) == sent


def test_errors_carry_the_code_message_and_details(debug: Any, stubs: Stubs) -> None:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="shelf.theme", description="empty")
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    failing = stubs.pb.FailRequest(code=3, message="no theme", details=[detail])
    with ResponseMetadata() as meta, pytest.raises(ConnectError) as caught:
        debug.fail(failing)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == "no theme"
    assert meta.http_status == 400
    [received] = caught.value.details
    assert received.type_name == "google.rpc.BadRequest"
    assert error_details_pb2.BadRequest.FromString(received.message_bytes) == bad_request


@pytest.mark.parametrize(
    ("grpc_code", "connect_code", "http_status"),
    [
        (1, Code.CANCELED, 499),
        (5, Code.NOT_FOUND, 404),
        (8, Code.RESOURCE_EXHAUSTED, 429),
        (9, Code.FAILED_PRECONDITION, 400),
        (14, Code.UNAVAILABLE, 503),
        (16, Code.UNAUTHENTICATED, 401),
    ],
)
def test_status_codes_follow_connects_table(
    debug: Any, stubs: Stubs, grpc_code: int, connect_code: Code, http_status: int
) -> None:
    with ResponseMetadata() as meta, pytest.raises(ConnectError) as caught:
        debug.fail(stubs.pb.FailRequest(code=grpc_code, message="chosen"))
    assert caught.value.code is connect_code
    assert meta.http_status == http_status


def test_the_clients_timeout_is_the_calls_deadline(debug: Any, stubs: Stubs) -> None:
    pb = stubs.pb
    answer = debug.sleep(pb.SleepRequest(duration=duration_pb2.Duration()), timeout_ms=5_000)
    # The backend saw the deadline that Connect-Timeout-Ms set (less what the hop took).
    assert 4.0 < answer.time_remaining.ToTimedelta().total_seconds() <= 5.05


def test_a_call_past_its_connect_timeout_fails_with_deadline_exceeded(
    debug: Any, stubs: Stubs
) -> None:
    sleep = stubs.pb.SleepRequest(duration=duration_pb2.Duration(seconds=2))
    # The header alone (the client itself would give up first): the function's deadline ends it.
    with ResponseMetadata() as meta, pytest.raises(ConnectError) as caught:
        debug.sleep(sleep, headers={"connect-timeout-ms": "150"})
    assert caught.value.code is Code.DEADLINE_EXCEEDED
    assert "Connect-Timeout-Ms" in caught.value.message
    assert meta.http_status == 504


def test_get_calls_no_side_effects_methods(stubs: Stubs, connect_url: str) -> None:
    pb = stubs.pb
    for options in (_options(None), _options("json")):
        with stubs.connect.LibraryServiceClientSync(connect_url, **options) as client:
            posted = client.get_library_info(pb.GetLibraryInfoRequest())
            fetched = client.get_library_info(pb.GetLibraryInfoRequest(), use_get=True)
            assert fetched == posted
            assert fetched.name == "Example library"


def test_server_streams_deliver_every_message(library: Any, stubs: Stubs) -> None:
    pb = stubs.pb
    books = list(library.stream_books(pb.ListBooksRequest(parent="shelves/fiction")))
    assert [book.name for book in books] == [
        "shelves/fiction/books/dune",
        "shelves/fiction/books/earthsea",
    ]


def test_a_stream_error_arrives_after_the_messages_sent_before_it(debug: Any, stubs: Stubs) -> None:
    received: list[int] = []

    def read() -> None:
        for item in debug.stream(stubs.pb.StreamRequest(count=5, fail_after=2, fail_code=9)):
            received.append(item.index)

    with pytest.raises(ConnectError) as caught:
        read()
    assert received == [0, 1]
    assert caught.value.code is Code.FAILED_PRECONDITION


def test_client_and_bidi_streams_send_every_message(library: Any, debug: Any, stubs: Stubs) -> None:
    pb = stubs.pb
    books = [pb.Book(name=f"shelves/fiction/books/connect-{i}", title=f"C{i}") for i in range(3)]
    imported = library.import_books(iter(books))
    assert imported.imported_count == 3
    assert list(imported.names) == [book.name for book in books]
    said = [pb.ChatMessage(text=text) for text in ("one", "two")]
    assert [message.text for message in debug.chat(iter(said))] == ["one", "two"]


def test_large_messages_travel_gzip_compressed_both_ways(
    debug: Any, stubs: Stubs, access_lines: AccessLines
) -> None:
    # The client gzips what it sends and accepts gzip (its HTTP layer inflates the answer and
    # drops the header): the access log counts the bytes as they travelled.
    sent = stubs.pb.Kinds(f_string="connect " * 25_000)
    assert debug.echo_kinds(sent) == sent
    items = list(debug.stream(stubs.pb.StreamRequest(count=3, payload_size=50_000)))
    assert [len(item.payload) for item in items] == [50_000] * 3
    unary, stream = access_lines()[-2:]
    assert unary["grpcMethod"].endswith("EchoKinds")
    assert unary["bytesIn"] < 5_000
    assert unary["bytesOut"] < 5_000
    assert stream["route"].startswith("connect stream")
    assert stream["bytesOut"] < 10_000  # each envelope compressed (Connect-Content-Encoding)


def test_metadata_arrives_as_headers_and_trailers(debug: Any, stubs: Stubs) -> None:
    asked = stubs.pb.EchoMetadataRequest(
        response_headers={"x-shelf-count": "2"}, response_trailers={"x-cost": "7"}
    )
    with ResponseMetadata() as meta:
        answer = debug.echo_metadata(asked, headers={"grpc-metadata-x-tenant": "acme"})
    assert meta.headers.get("x-shelf-count") == "2"
    assert meta.trailers.get("x-cost") == "7"
    received = {entry.key: entry.value for entry in answer.received}
    assert received["x-tenant"] == "acme"
