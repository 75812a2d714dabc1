"""grpc:// and grpcs:// locations of TRANSCODER_DESCRIPTORS: the API read by server reflection.

Real servers on loopback: the example backend (reflection v1 and v1alpha) serves its annotated
API with no descriptor set anywhere; a dead server is a 503 retried with the backoff; with a TTL
a changed server swaps in and an unchanged one is not rebuilt; a server that never answers ends
within the time budget.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import settings
from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading import reflection
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.runtime import Runtime
from tests.conftest import LIBRARY_SET, Handler
from tests.event_builder import Source, build, response_json
from tests.support import Clock

TTL = 60.0


def runtime_for(
    location: str, backend: str, clock: Clock | None = None, **overrides: Any
) -> Runtime:
    return Runtime(
        lambda: settings.load({}, descriptors=(location,), backends=(("*", backend),), **overrides),
        clock=clock or Clock(),
    )


def get(handler: Handler, path: str) -> tuple[int, Any]:
    answer = handler(build(Source.HTTP_API, "GET", path), LambdaContext(timeout_ms=10_000))
    return answer["statusCode"], response_json(answer)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_reflection_location_serves_the_api_without_a_descriptor_set(
    backend: example_backend.RunningBackend,
) -> None:
    runtime = runtime_for(f"grpc://{backend.target}", backend.target)
    status, shelf = get(make_handler(runtime), "/v1/shelves/fiction")
    assert (status, shelf["name"]) == (200, "shelves/fiction")
    loaded = runtime.current()
    # grpc.* services (reflection itself) are left out unless named.
    assert sorted(loaded.registry.services) == sorted(
        [example_backend.LIBRARY, example_backend.DEBUG]
    )
    assert len(loaded.routes.routes) > 20


def test_services_can_be_named_in_the_location(backend: example_backend.RunningBackend) -> None:
    named = f"grpc://{backend.target}?service={example_backend.LIBRARY}"
    runtime = runtime_for(named, backend.target)
    assert get(make_handler(runtime), "/v1/shelves/fiction")[0] == 200
    # (The file that defines the service is loaded whole: DebugService shares it.)
    assert example_backend.LIBRARY in runtime.current().registry.services
    absent = runtime_for(f"grpc://{backend.target}?service=shop.v1.Cart", backend.target)
    status, error = get(make_handler(absent), "/v1/shelves/fiction")
    assert status == 503
    assert "does not offer shop.v1.Cart" in error["message"]


@pytest.mark.parametrize(
    "location",
    [
        "grpc://127.0.0.1:1/path",
        "grpc://127.0.0.1:1?services=a",
        "grpc://no-port",
    ],
)
def test_a_malformed_location_is_a_load_problem(location: str) -> None:
    with pytest.raises(DescriptorError) as raised:
        reflection.parse_location(location)
    assert location in str(raised.value)


def test_a_dead_server_is_not_ready_and_retried(registry: Registry) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    clock = Clock()
    runtime = runtime_for(f"grpc://{target}", target, clock, descriptors_retry_seconds=5)
    handler = make_handler(runtime)
    status, error = get(handler, "/v1/shelves/fiction")
    assert status == 503
    assert f"grpc://{target}: server reflection" in error["message"]
    assert "UNAVAILABLE" in error["message"]
    running = example_backend.start(target, registry=registry)
    try:
        assert get(handler, "/v1/shelves/fiction")[0] == 503  # within the backoff
        clock.now += 5
        assert get(handler, "/v1/shelves/fiction")[0] == 200
    finally:
        running.stop()


def test_a_server_that_never_answers_ends_within_the_budget() -> None:
    with socket.socket() as silent:  # accepts connections, never speaks HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = f"127.0.0.1:{silent.getsockname()[1]}"
        runtime = runtime_for(f"grpc://{target}", target, reflection_timeout=0.5)
        status, error = get(make_handler(runtime), "/v1/shelves/fiction")
    assert status == 503
    assert "server reflection" in error["message"]


def changed_registry(template: str) -> Registry:
    fds = descriptor_pb2.FileDescriptorSet.FromString(LIBRARY_SET.read_bytes())
    for file in fds.file:
        for service in file.service:
            for method in service.method:
                if method.name == "GetShelf":
                    method.options.Extensions[annotations_pb2.http].get = template
    return descriptors.build([Blob("changed", fds.SerializeToString())])


@pytest.fixture
def port() -> int:
    return free_port()


def test_with_a_ttl_a_changed_server_swaps_in(registry: Registry, port: int) -> None:
    target = f"127.0.0.1:{port}"
    clock = Clock()
    first = example_backend.start(target, registry=registry)
    runtime = runtime_for(f"grpc://{target}", target, clock, descriptors_ttl=TTL)
    handler = make_handler(runtime)
    try:
        assert get(handler, "/v1/shelves/fiction")[0] == 200
        loaded = runtime.current()
        clock.now += TTL
        assert get(handler, "/v1/shelves/fiction")[0] == 200
        assert runtime.current() is loaded  # the same files: nothing rebuilt
    finally:
        first.stop()
    second = example_backend.start(target, registry=changed_registry("/v2/{name=shelves/*}"))
    try:
        clock.now += TTL
        assert get(handler, "/v2/shelves/fiction")[0] == 200
        assert runtime.status().swaps == 1
        assert runtime.current().registry.version != loaded.registry.version
    finally:
        second.stop()
    # A server that has gone away keeps the working set.
    clock.now += TTL
    assert get(handler, "/v2/shelves/fiction")[0] == 503  # the backend itself is gone...
    assert runtime.status().ready
    assert runtime.status().swaps == 1
