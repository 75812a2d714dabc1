"""Backend calls: results with metadata, retries of UNAVAILABLE, a backend down, hung or restarted."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import settings
from grpc_transcoder.calling.backends import parse_target
from grpc_transcoder.calling.caller import BackendCaller, CallSpec
from grpc_transcoder.calling.channels import ChannelCache
from grpc_transcoder.calling.deadlines import DeadlinePolicy
from grpc_transcoder.calling.policy import CallPolicy
from grpc_transcoder.calling.status_details import StatusDecoder
from grpc_transcoder.errors import BackendError, ConfigurationError
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.passthrough.raw_calls import RawMethod
from grpc_transcoder.routing.table import Route
from tests.conftest import Handler
from tests.event_builder import Source, build, response_json

DOWN = "127.0.0.1:1"  # nothing listens on port 1: connections are refused at once


def caller_for(registry: Registry, channels: ChannelCache | None = None) -> BackendCaller:
    decoder = StatusDecoder(registry, JsonCodec(registry.pool, JsonOptions()))
    return BackendCaller(ChannelCache() if channels is None else channels, decoder)


def spec_for(
    registry: Registry, path: str, target: str, *, seconds: float = 5.0, **kwargs: Any
) -> CallSpec:
    deadline = DeadlinePolicy((("*", seconds),)).deadline("s", header=None, remaining_ms=None)
    return CallSpec(parse_target(target), registry.methods[path], deadline, **kwargs)


def test_unary_result_carries_metadata(
    registry: Registry, backend: example_backend.RunningBackend
) -> None:
    request: Any = registry.new_message("library.v1.EchoMetadataRequest")
    request.response_headers["x-a"] = "1"
    request.response_trailers["x-b"] = "2"
    spec = spec_for(
        registry,
        "/library.v1.DebugService/EchoMetadata",
        backend.target,
        metadata=(("x-sent", "yes"),),
    )
    channels = ChannelCache()
    result = caller_for(registry, channels).unary(spec, [request.SerializeToString()])
    assert ("x-a", "1") in result.initial_metadata
    assert ("x-b", "2") in result.trailing_metadata
    response: Any = registry.new_message("library.v1.EchoMetadataResponse")
    response.ParseFromString(result.response)
    assert ("x-sent", "yes") in [(e.key, e.value) for e in response.received]
    assert len(channels.open_targets) == 1


def _attempts(caplog: pytest.LogCaptureFixture) -> int:
    return sum("UNAVAILABLE from" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("idempotent", "seconds", "attempts"),
    [
        pytest.param(True, 5.0, 3, id="idempotent"),
        pytest.param(False, 5.0, 1, id="not-idempotent"),
        pytest.param(True, 0.05, 2, id="deadline-too-short-for-the-backoff"),
    ],
)
def test_unavailable_is_retried_only_for_idempotent_calls(
    registry: Registry,
    caplog: pytest.LogCaptureFixture,
    idempotent: bool,
    seconds: float,
    attempts: int,
) -> None:
    spec = spec_for(
        registry,
        "/library.v1.LibraryService/ListShelves",
        DOWN,
        seconds=seconds,
        idempotent=idempotent,
    )
    channels = ChannelCache()
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as raised:
        caller_for(registry, channels).unary(spec, [b""])
    assert raised.value.grpc_code == 14
    assert _attempts(caplog) == attempts
    assert len(channels.open_targets) == 0  # dropped after the connection failure


def _route(registry: Registry, path: str, http_method: str) -> Route:
    from grpc_transcoder.routing.table import routes_for

    routes, _ = routes_for(registry)
    return next(r for r in routes if r.method.grpc_path == path and r.http_method == http_method)


@pytest.mark.parametrize(
    ("path", "http_method", "listed", "idempotent"),
    [
        pytest.param("/library.v1.LibraryService/ListShelves", "GET", (), True, id="get-route"),
        pytest.param("/library.v1.LibraryService/ListShelves", "POST", (), False, id="post"),
        pytest.param(
            "/library.v1.LibraryService/GetLibraryInfo", "POST", (), True, id="idempotency-level"
        ),
        pytest.param(
            "/library.v1.DebugService/EchoKinds",
            "POST",
            ("library.v1.DebugService/EchoKinds",),
            True,
            id="listed",
        ),
    ],
)
def test_which_calls_are_idempotent(
    registry: Registry, path: str, http_method: str, listed: tuple[str, ...], idempotent: bool
) -> None:
    policy = CallPolicy.from_settings(settings.load({}, idempotent_methods=frozenset(listed)))
    route = _route(registry, path, http_method)
    assert policy.idempotent(route.method, route.http_method) is idempotent


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("EchoKinds", id="no-service"),
        pytest.param("library.v1.DebugService.EchoKinds", id="dot"),
        pytest.param("/EchoKinds", id="empty-service"),
        pytest.param("a/b/c", id="two-slashes"),
    ],
)
def test_bad_idempotent_method_names_fail_at_cold_start(name: str) -> None:
    with pytest.raises(ConfigurationError, match="TRANSCODER_IDEMPOTENT_METHODS"):
        CallPolicy.from_settings(settings.load({}, idempotent_methods=frozenset({name})))


def test_backend_down_answers_503_quickly_without_its_address(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(backends=(("*", DOWN),))
    started = time.monotonic()
    response = handler(build(Source.HTTP_API, "GET", "/v1/shelves"), context)
    assert time.monotonic() - started < 1.0
    assert response["statusCode"] == 503
    body = response_json(response)
    assert body["code"] == 14
    assert body["message"] == (
        "the backend of library.v1.LibraryService is unavailable (TRANSCODER_BACKENDS '*')"
    )


def test_backend_restarted_the_next_call_succeeds(
    registry: Registry, make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    first = example_backend.start("127.0.0.1:0", registry=registry)
    address = first.target
    handler = make_library_handler(backends=(("*", address),))
    post = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", body='{"fInt32": 7}')
    assert handler(post, context)["statusCode"] == 200
    first.stop()
    assert handler(post, context)["statusCode"] == 503  # down: a POST is not retried
    second = example_backend.start(address, registry=registry)
    try:
        response = handler(post, context)
        assert response["statusCode"] == 200
        assert response_json(response)["fInt32"] == 7
    finally:
        second.stop()


def test_a_server_stream_is_retried_before_its_first_message(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    spec = spec_for(registry, "/library.v1.DebugService/Stream", DOWN, idempotent=True)
    stream = caller_for(registry).stream(spec, [b""])
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as raised:
        list(stream)
    assert raised.value.grpc_code == 14
    assert _attempts(caplog) == 3


def test_a_server_stream_keeps_its_metadata(registry: Registry, stock: Any) -> None:
    from tests import generic_backend

    deadline = DeadlinePolicy().deadline("s", header=None, remaining_ms=None)
    watch = RawMethod(generic_backend.SERVICE, "Watch")
    spec = CallSpec(parse_target(stock.target), watch, deadline)
    stream = caller_for(registry).stream(spec, [b"a"])
    assert list(stream) == [b"0:a", b"1:a", b"2:a"]
    assert stream.initial_metadata == generic_backend.INITIAL
    assert stream.trailing_metadata == generic_backend.TRAILING


def test_an_rpc_error_that_is_not_a_call_is_unknown(registry: Registry) -> None:
    spec = spec_for(registry, "/library.v1.LibraryService/ListShelves", DOWN)
    error = caller_for(registry).error(spec, grpc.RpcError("no status"))
    assert (error.grpc_code, error.status, error.message) == (2, 500, "no status")


@pytest.fixture
def hung_backend() -> Iterator[str]:
    """A server that accepts TCP connections and never answers (a frozen process)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/v1/shelves", None, id="get-idempotent"),
        pytest.param("POST", "/v1/debug/kinds:echo", "{}", id="post"),
    ],
)
def test_a_hung_backend_answers_503_after_the_connect_timeout_without_retries(
    make_library_handler: Callable[..., Handler],
    hung_backend: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: str | None,
) -> None:
    handler = make_library_handler(
        backends=(("library.v1.*", hung_backend),), connect_timeout_ms=300
    )
    with caplog.at_level(logging.WARNING):
        response = handler(
            build(Source.HTTP_API, method, path, body=body), LambdaContext(timeout_ms=20_000)
        )
    # Without the connect timeout this would be 504 once the 19.5 s deadline ran out.
    assert response["statusCode"] == 503
    body_json = response_json(response)
    assert body_json["code"] == 14
    assert "127.0.0.1" not in body_json["message"]
    assert "'library.v1.*'" in body_json["message"]
    assert _attempts(caplog) == 1
    assert "SETTINGS frame" in caplog.text  # the log keeps gRPC's own reason
