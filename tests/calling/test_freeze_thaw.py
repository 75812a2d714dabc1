"""Freeze/thaw: a stopped handler process whose connections are reset or black-holed meanwhile.

The handler runs in a child process (`tests.handler_process`) and reaches the example backend
through a loopback TCP proxy. SIGSTOP freezes every thread of the child, as Lambda freezes an
idle execution environment; while it is frozen the proxy resets or silently drops the open
connections; after SIGCONT the next calls must succeed within their deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend

from grpc_transcoder.loading.registry import Registry
from tests.conftest import LIBRARY_SET
from tests.event_builder import Source, build, response_json
from tests.handler_process import HandlerProcess
from tests.tcp_proxy import TcpProxy

# The server lets clients ping often, so keepalive in these tests never earns a GOAWAY.
PING_POLICY = (
    ("grpc.http2.min_ping_interval_without_data_ms", 100),
    ("grpc.http2.max_ping_strikes", 0),
)

GET_SHELVES = build(Source.HTTP_API, "GET", "/v1/shelves")
# EchoKinds is a POST without idempotency_level: never retried.
POST_ECHO = build(
    Source.REST_API,
    "POST",
    "/v1/debug/kinds:echo",
    body='{"fString": "thawed"}',
    headers=[("content-type", "application/json")],
)


@pytest.fixture(scope="module")
def freeze_backend(registry: Registry) -> Iterator[example_backend.RunningBackend]:
    running = example_backend.start("127.0.0.1:0", registry=registry, options=PING_POLICY)
    yield running
    running.stop()


@pytest.fixture
def proxy(freeze_backend: example_backend.RunningBackend) -> Iterator[TcpProxy]:
    running = TcpProxy(freeze_backend.target)
    yield running
    running.close()


@pytest.fixture
def start_handler(proxy: TcpProxy) -> Iterator[Callable[..., HandlerProcess]]:
    started: list[HandlerProcess] = []

    def start(**overrides: Any) -> HandlerProcess:
        overrides.setdefault("descriptors", [str(LIBRARY_SET)])
        overrides.setdefault("backends", [["*", proxy.address]])
        process = HandlerProcess(**overrides)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def _frozen_while(process: HandlerProcess, seconds: float, action: Callable[[], int]) -> int:
    process.freeze()
    try:
        affected = action()
        time.sleep(seconds)
    finally:
        process.thaw()
    return affected


def _ok(process: HandlerProcess, event: dict[str, Any], within_ms: float) -> dict[str, Any]:
    response, elapsed = process.call(event)
    assert response["statusCode"] == 200, response.get("body")
    assert elapsed < within_ms, f"took {elapsed:.0f} ms"
    return response


def test_reset_while_frozen_get_is_retried_on_a_fresh_connection(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    process = start_handler(channel_idle_seconds=300.0)
    _ok(process, GET_SHELVES, within_ms=2000)
    assert _frozen_while(process, 0.5, proxy.reset_all) == 1
    _ok(process, GET_SHELVES, within_ms=2000)
    assert proxy.accepted == 2


def test_reset_while_frozen_post_fails_fast_once_then_succeeds(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    process = start_handler(channel_idle_seconds=300.0)
    _ok(process, POST_ECHO, within_ms=2000)
    _frozen_while(process, 0.5, proxy.reset_all)
    response, elapsed = process.call(POST_ECHO)
    # A POST is not retried: gRPC may or may not notice the reset before sending; either way
    # the answer is quick and the channel is fresh for the next call.
    assert response["statusCode"] in (200, 503)
    assert elapsed < 2000
    assert response_json(_ok(process, POST_ECHO, within_ms=2000))["fString"] == "thawed"


def test_reset_answering_the_request_is_retried_for_a_get(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    process = start_handler(channel_idle_seconds=300.0)
    _ok(process, GET_SHELVES, within_ms=2000)
    _frozen_while(process, 0.2, proxy.reset_on_next_request)
    _ok(process, GET_SHELVES, within_ms=2000)
    assert proxy.accepted == 2


def test_reset_answering_the_request_fails_a_post_once(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    process = start_handler(channel_idle_seconds=300.0)
    _ok(process, POST_ECHO, within_ms=2000)
    _frozen_while(process, 0.2, proxy.reset_on_next_request)
    response, elapsed = process.call(POST_ECHO)
    assert response["statusCode"] == 503  # the request may have been processed: not retried
    assert elapsed < 1000
    assert "127.0.0.1" not in response["body"]  # addresses stay in the log
    _ok(process, POST_ECHO, within_ms=2000)  # the failed channel was dropped


@pytest.mark.parametrize(
    "break_connections",
    [
        pytest.param(TcpProxy.reset_all, id="reset"),
        pytest.param(TcpProxy.blackhole_all, id="black-hole"),
    ],
)
def test_frozen_longer_than_the_idle_limit_reconnects_before_calling(
    proxy: TcpProxy,
    start_handler: Callable[..., HandlerProcess],
    break_connections: Callable[[TcpProxy], int],
) -> None:
    process = start_handler(channel_idle_seconds=1.0)
    _ok(process, POST_ECHO, within_ms=2000)
    _frozen_while(process, 1.5, lambda: break_connections(proxy))
    # Even a POST succeeds at once: the idle channel is replaced before the call.
    _ok(process, POST_ECHO, within_ms=1000)
    _ok(process, GET_SHELVES, within_ms=1000)
    assert proxy.accepted == 2


def test_black_hole_is_detected_by_keepalive_and_the_get_retried(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    process = start_handler(
        channel_idle_seconds=0.0, keepalive_time_ms=500, keepalive_timeout_ms=500
    )
    _ok(process, GET_SHELVES, within_ms=2000)
    _frozen_while(process, 0.5, proxy.blackhole_all)
    slow_get = build(Source.HTTP_API, "GET", "/v1/shelves", headers=[("grpc-timeout", "5S")])
    _ok(process, slow_get, within_ms=4000)
    assert proxy.accepted == 2


def test_without_keepalive_a_black_hole_costs_the_whole_deadline(
    proxy: TcpProxy, start_handler: Callable[..., HandlerProcess]
) -> None:
    """The control case: the scenarios above really break the connection."""
    process = start_handler(
        channel_idle_seconds=0.0, keepalive_time_ms=60_000, keepalive_timeout_ms=20_000
    )
    _ok(process, GET_SHELVES, within_ms=2000)
    _frozen_while(process, 0.2, proxy.blackhole_all)
    short = build(Source.HTTP_API, "GET", "/v1/shelves", headers=[("grpc-timeout", "1500m")])
    response, elapsed = process.call(short)
    assert response["statusCode"] == 504
    assert elapsed >= 1400
    _ok(process, GET_SHELVES, within_ms=2000)  # the timed-out channel was dropped
