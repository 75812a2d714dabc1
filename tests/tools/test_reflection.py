"""reflection: fetch sets from real gRPC servers on loopback, over v1 and v1alpha."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_transcoder_tools import example_backend, reflection
from grpc_transcoder_tools.reflection import ReflectionError

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry

TIMEOUT = 5.0
LIBRARY_SERVICES = [example_backend.LIBRARY, example_backend.DEBUG]

StartServer = Callable[[Callable[[grpc.Server], None]], str]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start a gRPC server on loopback set up by a function; stopped after the test."""
    servers: list[grpc.Server] = []

    def start(setup: Callable[[grpc.Server], None]) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        setup(server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(grace=None).wait()


def loaded(fetched: reflection.Fetched) -> Registry:
    return descriptors.build([Blob("reflection", fetched.descriptor_set.SerializeToString())])


def test_the_example_backend_answers_over_v1(
    backend: example_backend.RunningBackend, registry: Registry
) -> None:
    fetched = reflection.fetch(backend.target, timeout=TIMEOUT)
    assert fetched.version == "v1"
    assert sorted(fetched.services) == sorted(LIBRARY_SERVICES)
    assert fetched.skipped == (
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    )
    again = loaded(fetched)
    assert again.methods.keys() == registry.methods.keys()
    assert [m.rules for m in again.methods.values()] == [m.rules for m in registry.methods.values()]


def test_the_example_backends_health_service_is_listed_and_fetched_when_named(
    backend: example_backend.RunningBackend,
) -> None:
    fetched = reflection.fetch(backend.target, services=[example_backend.HEALTH], timeout=TIMEOUT)
    assert fetched.services == (example_backend.HEALTH,)
    health = loaded(fetched)
    assert {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"} <= set(health.methods)


def test_files_come_dependencies_first(backend: example_backend.RunningBackend) -> None:
    files = reflection.fetch(backend.target, timeout=TIMEOUT).descriptor_set.file
    seen: set[str] = set()
    for file in files:
        assert set(file.dependency) <= seen, file.name
        seen.add(file.name)
    assert files[-1].name == "library/v1/library.proto"


@pytest.mark.parametrize(
    "versions",
    [pytest.param(("v1alpha",), id="v1alpha-only"), pytest.param(("v1",), id="v1-only")],
)
def test_either_protocol_is_enough(
    start_server: StartServer, registry: Registry, versions: tuple[str, ...]
) -> None:
    target = start_server(
        lambda server: reflection.enable(
            server, pool=registry.pool, services=LIBRARY_SERVICES, versions=versions
        )
    )
    fetched = reflection.fetch(target, timeout=TIMEOUT)
    assert fetched.version == versions[0]
    assert len(loaded(fetched).methods) == len(registry.methods)


def test_a_server_without_reflection_is_named(start_server: StartServer) -> None:
    target = start_server(lambda _server: None)
    with pytest.raises(ReflectionError) as caught:
        reflection.fetch(target, timeout=TIMEOUT)
    assert str(caught.value) == (
        f"{target}: the server does not offer grpc.reflection.v1.ServerReflection "
        "or grpc.reflection.v1alpha.ServerReflection"
    )


def test_an_unreachable_server_is_named() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        ReflectionError, match=rf"127.0.0.1:{port}: reflection v1 failed: UNAVAILABLE"
    ):
        reflection.fetch(f"127.0.0.1:{port}", timeout=TIMEOUT)


def test_chosen_services_only(backend: example_backend.RunningBackend) -> None:
    fetched = reflection.fetch(backend.target, services=[example_backend.DEBUG], timeout=TIMEOUT)
    assert fetched.services == (example_backend.DEBUG,)
    assert example_backend.LIBRARY in fetched.skipped


def test_an_unknown_service_lists_what_is_offered(
    backend: example_backend.RunningBackend,
) -> None:
    with pytest.raises(ReflectionError) as caught:
        reflection.fetch(backend.target, services=["shop.v1.Cart"], timeout=TIMEOUT)
    message = str(caught.value)
    assert message.startswith(
        f"{backend.target}: the server does not offer shop.v1.Cart (it offers: "
    )
    assert example_backend.LIBRARY in message


def test_a_server_with_only_infrastructure_services_is_an_error(
    start_server: StartServer, registry: Registry
) -> None:
    target = start_server(lambda server: reflection.enable(server, pool=registry.pool, services=[]))
    with pytest.raises(ReflectionError, match=r"the server offers only grpc\.reflection\.v1\."):
        reflection.fetch(target, timeout=TIMEOUT)


def test_a_listed_service_without_descriptor_is_named(
    start_server: StartServer, registry: Registry
) -> None:
    target = start_server(
        lambda server: reflection.enable(server, pool=registry.pool, services=["ghost.v1.Ghost"])
    )
    with pytest.raises(ReflectionError) as caught:
        reflection.fetch(target, timeout=TIMEOUT)
    assert str(caught.value).startswith(f"{target}: no descriptor for ghost.v1.Ghost: NOT_FOUND")


class OneFileAtATime:
    """A reflection service that sends each file alone, as some servers do, hiding some."""

    def __init__(
        self, pool: descriptor_pool.DescriptorPool, services: Sequence[str], hidden: Iterable[str]
    ) -> None:
        self._pool = pool
        self._services = services
        self._hidden = set(hidden)

    def __call__(self, requests: Iterable[Any], _context: Any) -> Iterator[Any]:
        for request in requests:
            yield self._answer(request)

    def _answer(self, request: Any) -> Any:
        kind = request.WhichOneof("message_request")
        if kind == "list_services":
            listed = [reflection_pb2.ServiceResponse(name=name) for name in self._services]
            return reflection.Response(
                list_services_response=reflection_pb2.ListServiceResponse(service=listed)
            )
        if kind == "file_containing_symbol":
            file = self._pool.FindFileContainingSymbol(request.file_containing_symbol)
        elif request.file_by_filename in self._hidden:
            error = reflection_pb2.ErrorResponse(error_code=5, error_message="not found")
            return reflection.Response(error_response=error)
        else:
            file = self._pool.FindFileByName(request.file_by_filename)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        response = reflection_pb2.FileDescriptorResponse(
            file_descriptor_proto=[proto.SerializeToString()]
        )
        return reflection.Response(file_descriptor_response=response)

    def add_to(self, server: grpc.Server) -> None:
        handler = grpc.stream_stream_rpc_method_handler(
            self,
            request_deserializer=reflection.Request.FromString,
            response_serializer=reflection.Response.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    reflection.service_name("v1"), {"ServerReflectionInfo": handler}
                )
            ]
        )


def test_imports_sent_separately_are_asked_for(
    start_server: StartServer, registry: Registry
) -> None:
    servicer = OneFileAtATime(registry.pool, LIBRARY_SERVICES, hidden=["google/api/http.proto"])
    target = start_server(servicer.add_to)
    fetched = reflection.fetch(target, timeout=TIMEOUT)
    names = [file.name for file in fetched.descriptor_set.file]
    assert "google/protobuf/timestamp.proto" in names
    # Hidden, but bundled with the transcoder: left out, and the set still loads.
    assert "google/api/http.proto" not in names
    assert len(loaded(fetched).methods) == len(registry.methods)


def test_an_import_the_server_cannot_provide_is_named(start_server: StartServer) -> None:
    pool = descriptor_pool.DescriptorPool()
    types = descriptor_pb2.FileDescriptorProto(name="shop/types.proto", package="shop")
    types.message_type.add(name="Item")
    api = descriptor_pb2.FileDescriptorProto(
        name="shop/api.proto", package="shop", dependency=["shop/types.proto"]
    )
    method = api.service.add(name="Shop").method.add(name="Get")
    method.input_type = method.output_type = ".shop.Item"
    pool.Add(types)
    pool.Add(api)
    servicer = OneFileAtATime(pool, ["shop.Shop"], hidden=["shop/types.proto"])
    target = start_server(servicer.add_to)
    with pytest.raises(ReflectionError) as caught:
        reflection.fetch(target, timeout=TIMEOUT)
    assert str(caught.value) == (
        f"{target}: the server cannot provide 'shop/types.proto', imported by 'shop/api.proto'"
    )
