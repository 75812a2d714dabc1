"""Health: the reserved path reports the descriptors and, when asked, the backends' status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import pipeline
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.reserved import health
from tests.conftest import LIBRARY_SET, Handler, runtime_for
from tests.event_builder import Source, build, response_header, response_json

HEALTH_PATH = "/healthz"
LIBRARY = "library.v1.LibraryService"
DEBUG = "library.v1.DebugService"


class HealthServer:
    """A gRPC server on loopback whose Health/Check answers `statuses` (or sleeps first)."""

    def __init__(self, statuses: dict[str, int], *, delay: float = 0.0, serve_health: bool = True):
        self.statuses = statuses
        self.delay = delay
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        if serve_health:
            self.server.add_generic_rpc_handlers((self._handler(),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _handler(self) -> grpc.GenericRpcHandler:
        check = grpc.unary_unary_rpc_method_handler(self._check)
        return grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": check})

    def _check(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        service = health_pb2.HealthCheckRequest.FromString(request).service
        time.sleep(self.delay)
        if service not in self.statuses:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service}")
        answer = health_pb2.HealthCheckResponse(status=self.statuses[service])
        data: bytes = answer.SerializeToString()
        return data

    def stop(self) -> None:
        self.server.stop(grace=None).wait()


@pytest.fixture
def health_server() -> Iterator[Callable[..., HealthServer]]:
    started: list[HealthServer] = []

    def start(statuses: dict[str, int], **options: Any) -> HealthServer:
        server = HealthServer(statuses, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get(handler: Handler, path: str = HEALTH_PATH, method: str = "GET", **kw: Any) -> Any:
    context = kw.pop("context", None) or LambdaContext(timeout_ms=10_000)
    return handler(build(Source.HTTP_API, method, path), context)


def test_off_by_default(library_handler: Handler) -> None:
    assert get(library_handler)["statusCode"] == 404


@pytest.mark.parametrize(
    "path",
    [pytest.param(HEALTH_PATH, id="exact"), pytest.param(HEALTH_PATH + "/", id="trailing-slash")],
)
def test_reports_the_loaded_descriptors(
    make_library_handler: Callable[..., Handler], path: str
) -> None:
    response = get(make_library_handler(health_path=HEALTH_PATH), path)
    assert response["statusCode"] == 200
    assert response_header(response, "cache-control") == "no-store"
    report = response_json(response)
    assert report["status"] == "SERVING"
    assert "backends" not in report
    descriptors = report["descriptors"]
    assert descriptors["loaded"] is True
    assert descriptors["services"] == [LIBRARY, DEBUG]
    assert descriptors["methods"] == 26
    assert descriptors["routes"] > 26
    assert descriptors["version"]
    assert descriptors["swaps"] == 0


def test_checks_the_backends_when_asked(make_library_handler: Callable[..., Handler]) -> None:
    handler = make_library_handler(health_path=HEALTH_PATH, health_check_backends=True)
    report = response_json(get(handler))
    assert report["status"] == "SERVING"
    assert [(b["service"], b["status"]) for b in report["backends"]] == [
        (LIBRARY, "SERVING"),
        (DEBUG, "SERVING"),
    ]
    assert [b["backend"] for b in report["backends"]] == ["*", "*"]  # never an address


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize(
    ("statuses", "options", "expected"),
    [
        pytest.param({LIBRARY: SERVING, DEBUG: NOT_SERVING}, {}, "NOT_SERVING", id="not-serving"),
        pytest.param({LIBRARY: SERVING}, {}, "NOT_FOUND", id="service-unknown-to-the-server"),
        pytest.param({}, {"serve_health": False}, "UNIMPLEMENTED", id="no-health-service"),
        pytest.param({LIBRARY: SERVING, DEBUG: 3}, {}, "SERVICE_UNKNOWN", id="service-unknown"),
        pytest.param({LIBRARY: SERVING, DEBUG: 9}, {}, "9", id="status-outside-the-enum"),
    ],
)
def test_any_backend_not_serving_answers_503(
    health_server: Callable[..., HealthServer],
    statuses: dict[str, int],
    options: dict[str, Any],
    expected: str,
) -> None:
    server = health_server(statuses, **options)
    runtime = runtime_for(
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", server.target),),
        health_path=HEALTH_PATH,
        health_check_backends=True,
    )
    response = get(make_handler(runtime))
    assert response["statusCode"] == 503
    report = response_json(response)
    assert report["status"] == "NOT_SERVING"
    debug = report["backends"][1]
    assert (debug["service"], debug["status"]) == (DEBUG, expected)


def test_unreachable_and_unconfigured_backends(
    health_server: Callable[..., HealthServer],
) -> None:
    runtime = runtime_for(
        descriptors=(str(LIBRARY_SET),),
        backends=((LIBRARY, "127.0.0.1:1"),),  # nothing listens on port 1
        health_path=HEALTH_PATH,
        health_check_backends=True,
    )
    report = response_json(get(make_handler(runtime)))
    library, debug = report["backends"]
    assert library["status"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    assert "127.0.0.1" not in library["message"]
    assert library["backend"] == LIBRARY
    assert (debug["status"], debug["backend"]) == (health.NO_BACKEND, "")


def test_backend_checks_keep_to_a_deadline(health_server: Callable[..., HealthServer]) -> None:
    server = health_server({LIBRARY: SERVING, DEBUG: SERVING}, delay=3.0)
    runtime = runtime_for(
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", server.target),),
        health_path=HEALTH_PATH,
        health_check_backends=True,
    )
    started = time.monotonic()
    # 700 ms left in the Lambda: 500 ms are kept back, so each check may take 200 ms.
    response = get(make_handler(runtime), context=LambdaContext(timeout_ms=700))
    assert time.monotonic() - started < 2.0
    statuses = {b["status"] for b in response_json(response)["backends"]}
    assert statuses == {"DEADLINE_EXCEEDED"}


def test_reports_why_descriptors_are_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # While not ready the runtime has no settings: the health path comes from the environment.
    monkeypatch.setenv("TRANSCODER_HEALTH_PATH", HEALTH_PATH)
    handler = make_handler(runtime_for(descriptors=("/nowhere/library.binpb",)))
    response = get(handler)
    assert response["statusCode"] == 503
    report = response_json(response)
    assert report["status"] == "NOT_SERVING"
    assert report["descriptors"]["loaded"] is False
    assert "/nowhere/library.binpb" in report["descriptors"]["reason"]
    other = get(handler, "/v1/shelves")
    assert other["statusCode"] == 503
    assert set(response_json(other)) == {"code", "message", "details"}


def test_serving_options_while_not_ready_fall_back_to_the_defaults() -> None:
    assert health.serving_while_not_ready({"TRANSCODER_LOG_LEVEL": "loud"}).health_path == ""
    assert health.serving_while_not_ready({"TRANSCODER_HEALTH_PATH": "/up/"}).health_path == "/up"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_only_get_and_head(make_library_handler: Callable[..., Handler], method: str) -> None:
    response = get(make_library_handler(health_path=HEALTH_PATH), method=method)
    assert response["statusCode"] == 405
    assert response_header(response, "allow") == "GET, HEAD"
    assert set(response_json(response)) == {"code", "message", "details"}


def test_the_reserved_path_wins_over_routes(make_library_handler: Callable[..., Handler]) -> None:
    handler = make_library_handler(health_path="/v1/shelves")
    assert response_json(get(handler, "/v1/shelves"))["status"] == "SERVING"


def test_health_messages_match_grpc_health_v1() -> None:
    request_class, response_class = health.health_messages()
    ours = request_class(service="a.B").SerializeToString()
    assert ours == health_pb2.HealthCheckRequest(service="a.B").SerializeToString()
    theirs = health_pb2.HealthCheckResponse(status=NOT_SERVING).SerializeToString()
    assert response_class.FromString(theirs).status == NOT_SERVING  # type: ignore[attr-defined]
    assert request_class.DESCRIPTOR.full_name == "grpc.health.v1.HealthCheckRequest"


def test_outside_lambda_the_checks_take_the_default_deadline(
    backend: example_backend.RunningBackend,
) -> None:
    # Served by any ASGI server, a request has no Lambda context and no remaining time.
    runtime = runtime_for(
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", backend.target),),
        health_path=HEALTH_PATH,
        health_check_backends=True,
    )
    reply = pipeline.transcode(runtime, HttpRequest("GET", HEALTH_PATH))
    assert reply.status == 200
    assert health.DEADLINE_SECONDS == 2.0
