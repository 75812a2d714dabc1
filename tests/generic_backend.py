"""A gRPC server for `acme.stock.v1.Inventory`, a service the example descriptors do not hold.

Generic handlers over raw bytes, one per method type, so pass-through is tested against a
backend whose messages the transcoder cannot decode. Started on loopback, port 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from grpc_transcoder.loading.registry import Registry

SERVICE = "acme.stock.v1.Inventory"
INITIAL = (("x-served-by", "inventory"),)
TRAILING = (("x-stock-trailer", "t1"), ("x-blob-bin", b"\x00\xff"))


@dataclass
class RunningGeneric:
    server: grpc.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(grace=None).wait()


@dataclass(frozen=True)
class _Status(grpc.Status):  # type: ignore[misc]
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _get(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.send_initial_metadata(INITIAL)
    context.set_trailing_metadata(TRAILING)
    return b"item:" + request


def _watch(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    context.send_initial_metadata(INITIAL)
    context.set_trailing_metadata(TRAILING)
    for index in range(3):
        yield b"%d:" % index + request


def _upload(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    return b"|".join(requests)


def _chat(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for request in requests:
        yield request.upper()


def _drain(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for _ in requests:
        pass
    yield from ()


def _metadata(request: bytes, context: grpc.ServicerContext) -> bytes:
    lines = [f"{k}={v!r}" for k, v in context.invocation_metadata()]
    return "\n".join(lines).encode()


def _sleep(request: bytes, context: grpc.ServicerContext) -> bytes:
    deadline = time.monotonic() + 5
    while context.is_active() and time.monotonic() < deadline:
        time.sleep(0.01)
    return b"woke"


def _failer(registry: Registry) -> Any:
    status: Any = registry.new_message("google.rpc.Status")
    status.code = grpc.StatusCode.FAILED_PRECONDITION.value[0]
    status.message = "out of stock"
    info: Any = registry.new_message("google.rpc.ErrorInfo")
    info.reason = "OUT_OF_STOCK"
    info.domain = "stock.acme.example"
    status.details.add().Pack(info)
    details = status.SerializeToString()

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.send_initial_metadata(INITIAL)
        context.abort_with_status(
            _Status(
                grpc.StatusCode.FAILED_PRECONDITION,
                "out of stock: 100% gone",
                (("grpc-status-details-bin", details), ("x-stock-trailer", "t2")),
            )
        )
        return b""  # pragma: no cover - abort raises

    return fail


def start(registry: Registry) -> RunningGeneric:
    """Serve the Inventory service on 127.0.0.1, port 0."""
    handlers = {
        "Get": grpc.unary_unary_rpc_method_handler(_get),
        "Watch": grpc.unary_stream_rpc_method_handler(_watch),
        "Upload": grpc.stream_unary_rpc_method_handler(_upload),
        "Chat": grpc.stream_stream_rpc_method_handler(_chat),
        "Drain": grpc.stream_stream_rpc_method_handler(_drain),
        "Metadata": grpc.unary_unary_rpc_method_handler(_metadata),
        "Sleep": grpc.unary_unary_rpc_method_handler(_sleep),
        "Fail": grpc.unary_unary_rpc_method_handler(_failer(registry)),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return RunningGeneric(server, port)
