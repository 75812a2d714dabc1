"""Warm overhead: `handler(event, context)` next to a direct grpcio call of the same RPC.

Both talk to the same example backend (in its own process) with the same message; the handler
goes through Mangum, the app, routing, decoding, the call and encoding. Measured in one run,
interleaved, so both see the same machine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import orjson

from benchmarks.harness import Percentiles, interleaved
from benchmarks.processes import LIBRARY_SET, example_backend

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


@dataclass(frozen=True)
class WarmResult:
    name: str
    direct: Percentiles
    handler: Percentiles

    @property
    def ratio_p50(self) -> float:
        return self.handler.p50_us / self.direct.p50_us

    @property
    def ratio_p99(self) -> float:
        return self.handler.p99_us / self.direct.p99_us


def run(*, iterations: int = 1000, rounds: int = 5, warmup: int = 200) -> list[WarmResult]:
    with example_backend() as target:
        os.environ["TRANSCODER_DESCRIPTORS"] = str(LIBRARY_SET)
        os.environ["TRANSCODER_BACKENDS"] = target
        _quiet_logging()
        from grpc_transcoder.lambda_handler import handler, runtime

        channel = grpc.insecure_channel(target)
        try:
            scenarios = _scenarios(runtime.current().registry, channel)
            results = []
            for scenario in scenarios:
                timed = interleaved(
                    {"direct": scenario.direct, "handler": _invoke(handler, scenario.event)},
                    iterations=iterations,
                    rounds=rounds,
                    warmup=warmup,
                )
                results.append(WarmResult(scenario.name, timed["direct"], timed["handler"]))
            return results
        finally:
            channel.close()


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
            "GET /v1/debug:stream?count=100 (server stream, 100 messages)",
            build(Source.HTTP_API, "GET", "/v1/debug:stream", query=[("count", "100")]),
            lambda: list(stream(stream_request, timeout=10)),
        ),
    ]


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())
