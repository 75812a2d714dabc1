"""Pass-through of protobuf bodies: known and unknown services, settings, metadata, event sources.

Two real backends on loopback: the example library (in the descriptors) and a generic
`acme.stock.v1.Inventory` server (absent from them). gRPC-Web is in test_grpc_web.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.settings import Passthrough
from tests import generic_backend
from tests.conftest import AccessLines, Handler
from tests.event_builder import Source, build, response_body, response_header, response_json
from tests.support import parsed, serialized

PROTOBUF = "application/x-protobuf"
LIBRARY = "/library.v1.LibraryService"
DEBUG = "/library.v1.DebugService"
STOCK = f"/{generic_backend.SERVICE}"
DOWN = "127.0.0.1:1"  # nothing listens on port 1
EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
MakeHandler = Callable[..., Handler]


@pytest.fixture
def make(
    make_library_handler: MakeHandler,
    backend: example_backend.RunningBackend,
    stock: generic_backend.RunningGeneric,
) -> MakeHandler:
    """Handlers with the library behind `library.v1.*` and the stock server behind `*`."""

    def make_handler(**overrides: Any) -> Handler:
        overrides.setdefault("backends", (("library.v1.*", backend.target), ("*", stock.target)))
        return make_library_handler(**overrides)

    return make_handler


def post(
    handler: Handler,
    context: LambdaContext,
    path: str,
    body: bytes,
    *,
    content_type: str = PROTOBUF,
    headers: Sequence[tuple[str, str]] = (),
    source: Source = Source.HTTP_API,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event = build(
        source,
        "POST",
        path,
        headers=[("content-type", content_type), *headers],
        body=body,
        binary=True,
        authorizer=authorizer,
    )
    return handler(event, context)


# -- services in the descriptors -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/x-protobuf", id="x-protobuf"),
        pytest.param("application/proto", id="proto"),
        pytest.param("application/protobuf; charset=binary", id="protobuf-with-parameter"),
    ],
)
def test_a_known_method_answers_its_serialized_response_in_the_same_type(
    make: MakeHandler, registry: Registry, context: LambdaContext, content_type: str
) -> None:
    body = serialized(registry, "GetShelfRequest", name="shelves/fiction")
    response = post(make(), context, f"{LIBRARY}/GetShelf", body, content_type=content_type)
    assert response["statusCode"] == 200, response_body(response)
    assert response_header(response, "content-type") == content_type.partition(";")[0]
    assert parsed(registry, "Shelf", response_body(response)).theme == "Fiction"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_binary_bodies_cross_every_event_source_base64_encoded(
    make: MakeHandler, registry: Registry, context: LambdaContext, source: Source
) -> None:
    body = serialized(registry, "GetBookRequest", name="shelves/fiction/books/dune")
    assert b"\x0a" in body  # not text: the request really is binary
    response = post(make(), context, f"{LIBRARY}/GetBook", body, source=source)
    assert response["statusCode"] == 200, response_body(response)
    assert response["isBase64Encoded"] is True
    book = parsed(registry, "Book", response_body(response))
    assert (book.title, book.isbn) == ("Dune", 9780441172719)


def test_a_backend_error_answers_the_json_error_body_with_the_mapped_status(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    body = serialized(registry, "GetShelfRequest", name="shelves/none")
    response = post(make(), context, f"{LIBRARY}/GetShelf", body)
    assert response["statusCode"] == 404
    assert response_header(response, "content-type") == "application/json"
    assert response["isBase64Encoded"] is False  # JSON stays text
    assert response_json(response) == {
        "code": 5,
        "message": "shelf 'shelves/none' not found",
        "details": [],
    }


def test_x_http_code_and_response_metadata_work_as_for_json_calls(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    handler = make()
    request: Any = registry.new_message("library.v1.CreateShelfRequest")
    request.shelf.theme = "Maps"
    request.shelf_id = f"maps-{uuid.uuid4().hex[:8]}"
    created = post(handler, context, f"{LIBRARY}/CreateShelf", request.SerializeToString())
    assert created["statusCode"] == 201, response_body(created)
    echo: Any = registry.new_message("library.v1.EchoMetadataRequest")
    echo.response_headers["x-a"] = "1"
    echo.response_trailers["x-b"] = "2"
    response = post(handler, context, f"{DEBUG}/EchoMetadata", echo.SerializeToString())
    assert response_header(response, "grpc-metadata-x-a") == "1"
    assert response_header(response, "grpc-trailer-x-b") == "2"


def test_request_metadata_is_the_metadata_of_json_calls(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    handler = make(authorizer_metadata=(("jwt.claims.sub", "x-user"),))
    headers = [("authorization", "Bearer t"), ("grpc-metadata-x-client", "c1"), ("x-other", "no")]
    response = post(
        handler,
        context,
        f"{DEBUG}/EchoMetadata",
        b"",
        headers=headers,
        authorizer={"jwt": {"claims": {"sub": "ann"}}},
    )
    assert response["statusCode"] == 200, response_body(response)
    received = {
        e.key: e.value
        for e in parsed(registry, "EchoMetadataResponse", response_body(response)).received
    }
    assert received["authorization"] == "Bearer t"
    assert received["x-client"] == "c1"
    assert received["x-user"] == "ann"
    assert received["x-request-id"]
    assert "x-other" not in received


@pytest.mark.parametrize(
    ("timeout", "status"),
    [pytest.param("50m", 504, id="deadline-exceeded"), pytest.param("soon", 400, id="invalid")],
)
def test_grpc_timeout_bounds_the_call(
    make: MakeHandler, registry: Registry, context: LambdaContext, timeout: str, status: int
) -> None:
    request: Any = registry.new_message("library.v1.SleepRequest")
    request.duration.FromMilliseconds(2000)
    response = post(
        make(),
        context,
        f"{DEBUG}/Sleep",
        request.SerializeToString(),
        headers=[("grpc-timeout", timeout)],
    )
    assert response["statusCode"] == status, response_body(response)


def test_a_server_streaming_method_needs_grpc_web(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    body = serialized(registry, "ListBooksRequest", parent="shelves/fiction")
    response = post(make(), context, f"{LIBRARY}/StreamBooks", body)
    assert response["statusCode"] == 415
    assert "application/grpc-web+proto" in response_json(response)["message"]


def test_a_body_over_the_limit_answers_413(make: MakeHandler, context: LambdaContext) -> None:
    response = post(make(max_request_bytes=10), context, f"{LIBRARY}/GetShelf", b"\x0a" * 11)
    assert response["statusCode"] == 413
    assert "TRANSCODER_MAX_REQUEST_BYTES" in response_json(response)["message"]


def test_a_response_over_the_limit_answers_502(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    body = serialized(registry, "GetBookRequest", name="shelves/fiction/books/dune")
    response = post(make(max_response_bytes=100), context, f"{LIBRARY}/GetBook", body)
    assert response["statusCode"] == 502
    assert response_json(response)["code"] == 8


def test_a_base_path_is_removed_first(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    body = serialized(registry, "GetShelfRequest", name="shelves/science")
    response = post(make(base_path="/api"), context, f"/api{LIBRARY}/GetShelf", body)
    assert response["statusCode"] == 200, response_body(response)
    outside = post(make(base_path="/api"), context, f"{LIBRARY}/GetShelf", body)
    assert outside["statusCode"] == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", f"{LIBRARY}/GetShelf", 405, id="not-a-post"),
        pytest.param("POST", "/v1/shelves", 415, id="not-a-method-path"),
        pytest.param("POST", "/library.v1.LibraryService/Get/Shelf", 404, id="three-segments"),
    ],
)
def test_other_requests_with_binary_bodies_are_routed_as_json(
    make: MakeHandler, context: LambdaContext, method: str, path: str, status: int
) -> None:
    event = build(
        Source.HTTP_API, method, path, headers=[("content-type", PROTOBUF)], body=b"\x08\x01"
    )
    assert make()(event, context)["statusCode"] == status


# -- services absent from the descriptors ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        pytest.param("Get", b"abc", b"item:abc", id="unary"),
        pytest.param("Upload", b"abc", b"abc", id="client-streaming"),
        pytest.param("Chat", b"abc", b"ABC", id="bidi"),
        pytest.param("Get", b"", b"item:", id="empty-message"),
    ],
)
def test_an_unknown_service_is_called_with_raw_bytes_when_all_is_allowed(
    make: MakeHandler, context: LambdaContext, method: str, body: bytes, expected: bytes
) -> None:
    response = post(make(passthrough=Passthrough.ALL), context, f"{STOCK}/{method}", body)
    assert response["statusCode"] == 200, response_body(response)
    assert response_body(response) == expected


def test_an_unknown_service_answers_with_its_metadata(
    make: MakeHandler, context: LambdaContext
) -> None:
    response = post(make(passthrough=Passthrough.ALL), context, f"{STOCK}/Get", b"x")
    assert response_header(response, "grpc-metadata-x-served-by") == "inventory"
    assert response_header(response, "grpc-trailer-x-stock-trailer") == "t1"
    assert response_header(response, "grpc-trailer-x-blob-bin") == "AP8="


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        pytest.param("Watch", "answered more than one message", id="several"),
        pytest.param("Drain", "answered no message", id="none"),
    ],
)
def test_an_unknown_method_answering_other_than_one_message_needs_grpc_web(
    make: MakeHandler, context: LambdaContext, method: str, expected: str
) -> None:
    response = post(make(passthrough=Passthrough.ALL), context, f"{STOCK}/{method}", b"x")
    assert response["statusCode"] == 415
    assert expected in response_json(response)["message"]


def test_an_unknown_service_keeps_its_error_details(
    make: MakeHandler, context: LambdaContext
) -> None:
    response = post(make(passthrough=Passthrough.ALL), context, f"{STOCK}/Fail", b"")
    assert response["statusCode"] == 400
    body = response_json(response)
    assert (body["code"], body["message"]) == (9, "out of stock: 100% gone")
    assert body["details"][0]["reason"] == "OUT_OF_STOCK"


def test_an_unknown_service_gets_the_same_metadata_and_deadline(
    make: MakeHandler, context: LambdaContext
) -> None:
    handler = make(passthrough=Passthrough.ALL)
    headers = [("authorization", "Bearer u"), ("grpc-timeout", "80m")]
    echoed = post(handler, context, f"{STOCK}/Metadata", b"", headers=headers)
    assert "authorization='Bearer u'" in response_body(echoed).decode()
    slow = post(handler, context, f"{STOCK}/Sleep", b"", headers=headers)
    assert slow["statusCode"] == 504
    assert response_json(slow)["code"] == 4


@pytest.mark.parametrize(
    ("setting", "path", "expected"),
    [
        pytest.param(
            Passthrough.KNOWN, f"{STOCK}/Get", "is not in the loaded", id="unknown-service"
        ),
        pytest.param(
            Passthrough.KNOWN, f"{LIBRARY}/Nope", "has no method Nope", id="unknown-method"
        ),
        pytest.param(
            Passthrough.OFF, f"{LIBRARY}/GetShelf", "TRANSCODER_PASSTHROUGH=off", id="off"
        ),
    ],
)
def test_the_setting_decides_which_methods_pass_through(
    make: MakeHandler, context: LambdaContext, setting: Passthrough, path: str, expected: str
) -> None:
    response = post(make(passthrough=setting), context, path, b"")
    assert response["statusCode"] == 501
    body = response_json(response)
    assert body["code"] == 12
    assert expected in body["message"]


def test_with_all_an_unknown_method_of_a_known_service_reaches_the_backend(
    make: MakeHandler, context: LambdaContext
) -> None:
    response = post(make(passthrough=Passthrough.ALL), context, f"{LIBRARY}/Nope", b"")
    assert response["statusCode"] == 501
    assert response_json(response)["message"] == "Method not found!"


def test_an_unknown_service_without_a_backend_answers_503(
    make: MakeHandler, backend: example_backend.RunningBackend, context: LambdaContext
) -> None:
    handler = make(passthrough=Passthrough.ALL, backends=(("library.v1.*", backend.target),))
    response = post(handler, context, f"{STOCK}/Get", b"")
    assert response["statusCode"] == 503
    assert (
        "no backend is configured for acme.stock.v1.Inventory" in response_json(response)["message"]
    )


@pytest.mark.parametrize(
    ("idempotent", "attempts"),
    [pytest.param(True, 3, id="listed-idempotent"), pytest.param(False, 1, id="not-listed")],
)
def test_unavailable_is_retried_only_for_idempotent_methods(
    make: MakeHandler,
    backend: example_backend.RunningBackend,
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
    idempotent: bool,
    attempts: int,
) -> None:
    listed = frozenset({"acme.stock.v1.Inventory/Get"} if idempotent else ())
    handler = make(passthrough=Passthrough.ALL, backends=(("*", DOWN),), idempotent_methods=listed)
    with caplog.at_level(logging.WARNING, logger="grpc_transcoder.calling.caller"):
        response = post(handler, context, f"{STOCK}/Get", b"")
    assert response["statusCode"] == 503
    tried = [r for r in caplog.records if "acme.stock.v1.Inventory/Get (attempt" in r.getMessage()]
    assert len(tried) == attempts


def test_the_access_log_names_the_method_and_the_mode(
    make: MakeHandler, context: LambdaContext, access_lines: AccessLines
) -> None:
    post(make(passthrough=Passthrough.ALL), context, f"{STOCK}/Get", b"")
    line = access_lines()[-1]
    assert line["grpcMethod"] == "acme.stock.v1.Inventory/Get"
    assert line["route"] == "application/x-protobuf pass-through"
    assert line["backendMs"] is not None


# -- hooks apply to pass-through ---------------------------------------------------------------


def test_request_hooks_cannot_be_bypassed_with_a_binary_body(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    handler = make(hooks="tests.hooks.library_rules")
    request: Any = registry.new_message("library.v1.CreateShelfRequest")
    request.shelf_id = f"p-{uuid.uuid4().hex[:8]}"
    refused = post(handler, context, f"{LIBRARY}/CreateShelf", request.SerializeToString())
    assert refused["statusCode"] == 400
    assert response_json(refused)["details"][0]["fieldViolations"][0]["field"] == "shelf.theme"
    request.shelf.theme = "Atlases"
    created = post(
        handler,
        context,
        f"{LIBRARY}/CreateShelf",
        request.SerializeToString(),
        authorizer={"jwt": {"claims": {"sub": "ann"}}},
    )
    assert created["statusCode"] == 201, response_body(created)
    assert parsed(registry, "Shelf", response_body(created)).labels["owner"] == "ann"


def test_response_hooks_see_pass_through_responses(
    make: MakeHandler, registry: Registry, context: LambdaContext
) -> None:
    body = serialized(registry, "GetBookRequest", name="shelves/fiction/books/dune")
    response = post(make(hooks="tests.hooks.library_rules"), context, f"{LIBRARY}/GetBook", body)
    book = parsed(registry, "Book", response_body(response))
    assert (book.title, book.copies_sold) == ("Dune", 0)


def test_a_request_body_that_hooks_cannot_parse_answers_400(
    make: MakeHandler, context: LambdaContext
) -> None:
    handler = make(hooks="tests.hooks.library_rules")
    response = post(handler, context, f"{LIBRARY}/CreateShelf", b"\xff\xff\xff")
    assert response["statusCode"] == 400
    assert "not a serialized library.v1.CreateShelfRequest" in response_json(response)["message"]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param(f"{LIBRARY}/ListShelves", [], 403, id="known-refused-by-the-hook"),
        pytest.param(f"{LIBRARY}/ListShelves", [("authorization", "x")], 200, id="known-allowed"),
        pytest.param(f"{STOCK}/Get", [("authorization", "x")], 501, id="unknown-not-served"),
    ],
)
def test_methods_the_hooks_cannot_read_are_not_served(
    make: MakeHandler,
    context: LambdaContext,
    path: str,
    headers: list[tuple[str, str]],
    status: int,
) -> None:
    handler = make(hooks="tests.hooks.catch_all", passthrough=Passthrough.ALL)
    response = post(handler, context, path, b"", headers=headers)
    assert response["statusCode"] == status, response_body(response)
