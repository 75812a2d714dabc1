"""Backend errors: every status code, its HTTP status and body, details known and unknown."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.calling.status_details import StatusDecoder
from grpc_transcoder.errors import Code
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.settings import ErrorFormat
from tests.conftest import Handler
from tests.event_builder import Source, build, response_header, response_json

# Every gRPC code and the HTTP status of the standard table.
STATUS_TABLE = [
    (0, 200),
    (1, 499),
    (2, 500),
    (3, 400),
    (4, 504),
    (5, 404),
    (6, 409),
    (7, 403),
    (8, 429),
    (9, 400),
    (10, 409),
    (11, 400),
    (12, 501),
    (13, 500),
    (14, 503),
    (15, 500),
    (16, 401),
]


def _fail(handler: Handler, context: LambdaContext, request: dict[str, Any]) -> dict[str, Any]:
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/debug:fail",
        body=orjson.dumps(request).decode(),
        headers=[("content-type", "application/json")],
    )
    return handler(event, context)


@pytest.mark.parametrize(
    ("code", "status"), [pytest.param(c, s, id=Code(c).name) for c, s in STATUS_TABLE]
)
def test_every_status_code(
    library_handler: Handler, context: LambdaContext, code: int, status: int
) -> None:
    response = _fail(library_handler, context, {"code": code, "message": f"failed with {code}"})
    assert response["statusCode"] == status
    assert response_header(response, "content-type") == "application/json"
    body = response_json(response)
    if code == 0:
        assert body == {}
        return
    assert body == {"code": code, "message": f"failed with {code}", "details": []}
    challenge = response_header(response, "www-authenticate")
    assert challenge == ("Bearer" if code == 16 else None)


DETAILS = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "QUOTA",
        "domain": "library.example.com",
        "metadata": {"shelf": "fiction"},
    },
    {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "shelf.theme", "description": "too long"}],
    },
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"},
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "fr", "message": "Non"},
    {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},
    {"@type": "type.googleapis.com/library.v1.Shelf", "name": "shelves/x", "theme": "Maps"},
]


def test_known_details_render_as_json(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(json_omit_unpopulated=True)
    response = _fail(handler, context, {"code": 8, "message": "slow down", "details": DETAILS})
    assert response["statusCode"] == 429
    assert response_json(response) == {"code": 8, "message": "slow down", "details": DETAILS}


def test_google_error_format(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(error_format=ErrorFormat.GOOGLE, json_omit_unpopulated=True)
    response = _fail(handler, context, {"code": 5, "message": "gone", "details": DETAILS[:1]})
    assert response["statusCode"] == 404
    assert response_json(response) == {
        "error": {"code": 404, "message": "gone", "status": "NOT_FOUND", "details": DETAILS[:1]}
    }


@dataclass(frozen=True)
class _Status(grpc.Status):  # type: ignore[misc]
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _rich_status_bytes(registry: Registry, *details: tuple[str, bytes]) -> bytes:
    status: Any = registry.new_message("google.rpc.Status")
    status.code = 9
    status.message = "from the status"
    for type_url, value in details:
        status.details.add(type_url=type_url, value=value)
    return bytes(status.SerializeToString())


@pytest.fixture
def raw_backend() -> Iterator[Callable[[_Status], str]]:
    """A gRPC server whose DebugService/Fail aborts with whatever status the test sets."""
    current: list[_Status] = []

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort_with_status(current[0])
        return b""  # pragma: no cover - abort raises

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(fail)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("library.v1.DebugService", {"Fail": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    def serve(status: _Status) -> str:
        current[:] = [status]
        return f"127.0.0.1:{port}"

    yield serve
    server.stop(None).wait()


def test_unknown_and_unreadable_details_keep_their_bytes(
    registry: Registry,
    raw_backend: Callable[[_Status], str],
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    secret = b"\x08\x01\x12\x03abc"
    details = _rich_status_bytes(
        registry,
        ("type.googleapis.com/acme.v1.Secret", secret),
        ("type.googleapis.com/google.rpc.ErrorInfo", b"\xff\xff\xff"),
        ("type.googleapis.com/google.rpc.Help", b""),
    )
    target = raw_backend(
        _Status(grpc.StatusCode.FAILED_PRECONDITION, "", (("grpc-status-details-bin", details),))
    )
    handler = make_library_handler(backends=(("*", target),), json_omit_unpopulated=True)
    response = _fail(handler, context, {})
    assert response["statusCode"] == 400
    assert response_json(response) == {
        "code": 9,
        "message": "from the status",  # grpc-message was empty
        "details": [
            {
                "@type": "type.googleapis.com/acme.v1.Secret",
                "value": base64.b64encode(secret).decode(),
            },
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "value": "////"},
            {"@type": "type.googleapis.com/google.rpc.Help"},
        ],
    }


def test_corrupt_status_details_are_ignored(
    raw_backend: Callable[[_Status], str],
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    target = raw_backend(
        _Status(
            grpc.StatusCode.UNAUTHENTICATED,
            "token expired",
            (("grpc-status-details-bin", b"\xff\xff"), ("www-authenticate", 'Bearer error="x"')),
        )
    )
    handler = make_library_handler(backends=(("*", target),))
    response = _fail(handler, context, {})
    assert response["statusCode"] == 401
    assert response_json(response) == {"code": 16, "message": "token expired", "details": []}
    assert response_header(response, "www-authenticate") == 'Bearer error="x"'
    assert response_header(response, "grpc-trailer-www-authenticate") == 'Bearer error="x"'


def test_status_decoder_without_details(registry: Registry) -> None:
    decoder = StatusDecoder(registry, JsonCodec(registry.pool, JsonOptions()))
    assert decoder.decode(()) is None
    assert decoder.decode((("grpc-status-details-bin", "text"),)) is None
    rich = decoder.decode((("grpc-status-details-bin", _rich_status_bytes(registry)),))
    assert rich is not None
    assert (rich.message, rich.details) == ("from the status", ())


def test_a_detail_without_a_json_form_keeps_its_bytes(registry: Registry) -> None:
    """A detail holding an Any of a type the descriptors lack cannot be printed as JSON; the
    error answer must survive it, with that detail as base64."""
    decoder = StatusDecoder(registry, JsonCodec(registry.pool, JsonOptions()))
    kinds: Any = registry.new_message("library.v1.Kinds")
    kinds.w_any.type_url = "type.googleapis.com/acme.Unknown"
    kinds.w_any.value = b"\x08\x01"
    detail: Any = registry.new_message("google.protobuf.Any")
    detail.Pack(kinds)
    rendered = decoder.render(detail)
    assert rendered == {
        "@type": "type.googleapis.com/library.v1.Kinds",
        "value": base64.b64encode(detail.value).decode("ascii"),
    }
