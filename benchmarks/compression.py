"""Compression: a large list answer with and without `Accept-Encoding: gzip`.

The answer is `GET /v1/debug:stream?count=N` as one JSON array (a server stream collected,
the largest list the example API gives). Measured through the real handler: the body bytes
sent (decoded from base64), the Lambda response payload (what crosses to API Gateway, base64
included) and the calling thread's CPU per request, batches interleaved.
"""

from __future__ import annotations

import base64
import os
import sys
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import Percentiles, interleaved
from benchmarks.processes import LIBRARY_SET, example_backend


@dataclass(frozen=True)
class CompressionResult:
    name: str
    body_bytes: int
    payload_bytes: int
    timing: Percentiles


def run(*, count: int = 200, iterations: int = 300, rounds: int = 5) -> list[CompressionResult]:
    from grpc_transcoder_tools.local_server import LambdaContext

    from grpc_transcoder import settings
    from grpc_transcoder.lambda_handler import make_handler
    from grpc_transcoder.loading.runtime import Runtime
    from tests.event_builder import Source, build

    context = LambdaContext(timeout_ms=3_600_000)
    with example_backend() as target:
        handler = make_handler(
            Runtime(
                lambda: settings.load(
                    {},
                    descriptors=(str(LIBRARY_SET),),
                    backends=(("*", target),),
                    metrics=False,
                    log_level="WARNING",
                )
            )
        )
        query = [("count", str(count))]
        events = {
            "uncompressed": build(Source.HTTP_API, "GET", "/v1/debug:stream", query=query),
            "gzip": build(
                Source.HTTP_API,
                "GET",
                "/v1/debug:stream",
                query=query,
                headers=[("accept-encoding", "gzip")],
            ),
        }
        answers = {name: handler(event, context) for name, event in events.items()}
        saved, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - access lines
        try:
            timed = interleaved(
                {name: _call(handler, event, context) for name, event in events.items()},
                iterations=iterations,
                rounds=rounds,
                warmup=max(1, iterations // 10),
            )
        finally:
            sys.stdout.close()
            sys.stdout = saved
    return [
        CompressionResult(name, _body_bytes(answers[name]), len(answers[name]["body"]), timed[name])
        for name in events
    ]


def _call(handler: Any, event: dict[str, Any], context: Any) -> Any:
    return lambda: handler(event, context)


def _body_bytes(response: dict[str, Any]) -> int:
    body = response["body"]
    return len(base64.b64decode(body)) if response.get("isBase64Encoded") else len(body.encode())
