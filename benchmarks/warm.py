"""Warm overhead: `handler(event, context)` next to a direct grpcio call of the same RPC, and
next to the naive transcoder a user would write (`benchmarks.naive`).

All three talk to the same example backend (in its own process) with the same message; the
handler goes through the edge, routing, decoding, the call, encoding, the access log and the
metrics, as deployed. Measured in one run, interleaved, so all see the same machine: wall time
per call and the calling thread's CPU per call (what a small Lambda bills).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import orjson

from benchmarks.harness import Percentiles, interleaved
from benchmarks.processes import LIBRARY_SET, example_backend, s3_endpoint, upload

ONE_VCPU_MB = 1769  # Lambda gives a function of this size one full vCPU

# A 20-field body of mixed kinds (scalars, 64-bit integers, enum, nested message, optional,
# repeated, map, bytes and well-known types) for DebugService.EchoKinds.
KINDS_BODY: dict[str, Any] = {
    "fDouble": 3.25,
    "fFloat": 1.5,
    "fInt32": -42,
    "fInt64": "9007199254740993",
    "fUint64": "18446744073709551615",
    "fBool": True,
    "fString": "transcoding at the edge",
    "fBytes": "aGVsbG8gd29ybGQ=",
    "fEnum": "HIGH",
    "fNested": {"label": "inner", "count": 7},
    "optInt32": 0,
    "rString": ["a", "b", "c"],
    "rInt64": ["1", "2", "3"],
    "mString": {"k1": "v1", "k2": "v2"},
    "wTimestamp": "2024-05-06T07:08:09.123Z",
    "wDuration": "1.500s",
    "wStruct": {"tier": "gold", "limits": [1, 2, 3]},
    "wInt32Value": 12,
    "wFieldMask": "fDouble,fNested.label",
    "customJSONName": "renamed",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    event: dict[str, Any]
    direct: Callable[[], object]
    naive: bool = True  # the naive transcoder serves it too


@dataclass(frozen=True)
class WarmResult:
    name: str
    direct: Percentiles
    handler: Percentiles
    naive: Percentiles | None = None

    @property
    def cpu_ratio(self) -> float:
        return self.handler.cpu_us / self.direct.cpu_us

    @property
    def naive_cpu_advantage(self) -> float:
        """How many times less CPU the handler uses than the naive transcoder."""
        return self.naive.cpu_us / self.handler.cpu_us if self.naive else 0.0

    def billed_ms(self, memory_mb: int, who: str = "handler") -> float:
        """Projected billed milliseconds at `memory_mb`: wall time, with the CPU part stretched
        by the share of a vCPU Lambda gives that size (1,769 MB is one vCPU)."""
        timing: Percentiles = getattr(self, who)
        stretch = max(1.0, ONE_VCPU_MB / memory_mb)
        return (timing.p50_us + timing.cpu_us * (stretch - 1)) / 1000

    @property
    def ratio_p50(self) -> float:
        return self.handler.p50_us / self.direct.p50_us

    @property
    def ratio_p99(self) -> float:
        return self.handler.p99_us / self.direct.p99_us


def run(
    *, iterations: int = 1000, rounds: int = 5, warmup: int = 200, naive: bool = True
) -> list[WarmResult]:
    with example_backend() as target, s3_endpoint() as url:
        os.environ["TRANSCODER_DESCRIPTORS"] = str(LIBRARY_SET)
        os.environ["TRANSCODER_BACKENDS"] = target
        _quiet_logging()
        from grpc_transcoder.lambda_handler import handler, runtime

        naive_handler = _naive(url) if naive else None
        channel = grpc.insecure_channel(target)
        try:
            scenarios = _scenarios(runtime.current().registry, channel)
            results = []
            for scenario in scenarios:
                calls = {"direct": scenario.direct, "handler": _invoke(handler, scenario.event)}
                if naive_handler is not None and scenario.naive:
                    calls["naive"] = _invoke(naive_handler, scenario.event)
                with _stdout_to_devnull():  # the EMF lines, as Lambda would collect them
                    timed = interleaved(calls, iterations=iterations, rounds=rounds, warmup=warmup)
                results.append(
                    WarmResult(scenario.name, timed["direct"], timed["handler"], timed.get("naive"))
                )
            return results
        finally:
            channel.close()


def _naive(url: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The naive transcoder's handler, reading the same descriptors from the S3 endpoint."""
    os.environ["TRANSCODER_DESCRIPTORS"] = upload(
        url, "naive-descriptors", "library.binpb", LIBRARY_SET.read_bytes()
    )
    try:
        from benchmarks import naive

        return naive.handler
    finally:
        os.environ["TRANSCODER_DESCRIPTORS"] = str(LIBRARY_SET)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    with open(os.devnull, "w") as sink:
        saved, sys.stdout = sys.stdout, sink
        try:
            yield
        finally:
            sys.stdout = saved


def _quiet_logging() -> None:
    """Logs go where Lambda would send them, but to /dev/null: their cost stays measured."""
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    logging.basicConfig(level=logging.INFO, handlers=[sink], force=True)


def _invoke(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]
) -> Callable[[], object]:
    from grpc_transcoder_tools.local_server import LambdaContext

    context = LambdaContext(timeout_ms=3_600_000)  # one context for the whole run

    def call() -> object:
        response = handler(event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(
                f"the handler answered {response['statusCode']}: {response.get('body')}"
            )
        return response

    return call


def _scenarios(registry: Any, channel: grpc.Channel) -> list[Scenario]:
    from tests.event_builder import Source, build

    def message(name: str) -> Any:
        return registry.message_class(registry.pool.FindMessageTypeByName(f"library.v1.{name}"))

    def stub(path: str, response: str, *, stream: bool = False) -> Any:
        factory = channel.unary_stream if stream else channel.unary_unary
        return factory(
            path, request_serializer=_serialize, response_deserializer=message(response).FromString
        )

    get_shelf = stub("/library.v1.LibraryService/GetShelf", "Shelf")
    shelf_request = message("GetShelfRequest")(name="shelves/fiction")
    echo = stub("/library.v1.DebugService/EchoKinds", "Kinds")
    kinds = message("Kinds")()
    from google.protobuf import json_format

    json_format.ParseDict(KINDS_BODY, kinds, descriptor_pool=registry.pool)
    stream = stub("/library.v1.DebugService/Stream", "StreamItem", stream=True)
    stream_request = message("StreamRequest")(count=100)

    return [
        Scenario(
            "GET /v1/shelves/fiction (GetShelf, path variable, small response)",
            build(Source.HTTP_API, "GET", "/v1/shelves/fiction"),
            lambda: get_shelf(shelf_request, timeout=10),
        ),
        Scenario(
            "POST /v1/debug/kinds:echo (20-field body of mixed kinds)",
            build(
                Source.HTTP_API,
                "POST",
                "/v1/debug/kinds:echo",
                body=orjson.dumps(KINDS_BODY).decode(),
                headers=[("content-type", "application/json")],
            ),
            lambda: echo(kinds, timeout=10),
        ),
        Scenario(
            "POST /library.v1.DebugService/EchoKinds (Connect, JSON, the same 20 fields)",
            build(
                Source.HTTP_API,
                "POST",
                "/library.v1.DebugService/EchoKinds",
                body=orjson.dumps(KINDS_BODY).decode(),
                headers=[("content-type", "application/json"), ("connect-protocol-version", "1")],
            ),
            lambda: echo(kinds, timeout=10),
            naive=False,  # the naive transcoder speaks no Connect
        ),
        Scenario(
            "POST /library.v1.DebugService/EchoKinds (Connect, protobuf, the same 20 fields)",
            build(
                Source.HTTP_API,
                "POST",
                "/library.v1.DebugService/EchoKinds",
                body=kinds.SerializeToString(),
                binary=True,
                headers=[("content-type", "application/proto"), ("connect-protocol-version", "1")],
            ),
            lambda: echo(kinds, timeout=10),
            naive=False,
        ),
        Scenario(
            "GET /v1/debug:stream?count=100 (server stream, 100 messages)",
            build(Source.HTTP_API, "GET", "/v1/debug:stream", query=[("count", "100")]),
            lambda: list(stream(stream_request, timeout=10)),
            naive=False,  # the naive transcoder makes unary calls only
        ),
    ]


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())
