"""Hostile bodies: CPU per MiB and peak RSS per request of each hostile shape, next to a
well-formed body of the same size and kind (`tests/hostile_shapes.py`).

The real handler (access log and metrics on, as deployed, written to /dev/null) serves each
request; the example backend runs in its own process. CPU is the handler thread's
(`time.thread_time()`), the median of `repeats` runs; the peak RSS of a request is the rise of
the process's high-water mark (VmHWM, reset before each request through /proc/self/clear_refs)
above the RSS it had before the request.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.processes import LIBRARY_SET, example_backend

MIB = 1 << 20


@dataclass(frozen=True)
class Measured:
    status: int
    answer_bytes: int
    cpu_ms_per_mib: float
    peak_rss_mb: float


@dataclass(frozen=True)
class ShapeResult:
    name: str
    description: str
    body_mib: float
    hostile: Measured
    honest: Measured

    @property
    def cpu_ratio(self) -> float:
        return self.hostile.cpu_ms_per_mib / self.honest.cpu_ms_per_mib


def run(*, size: int = MIB, repeats: int = 5) -> list[ShapeResult]:
    from grpc_transcoder_tools.local_server import LambdaContext

    from grpc_transcoder import settings
    from grpc_transcoder.lambda_handler import make_handler
    from grpc_transcoder.loading.runtime import Runtime
    from tests import hostile_shapes

    with example_backend() as target, _quiet():
        loaded = settings.load({}, descriptors=(str(LIBRARY_SET),), backends=(("*", target),))
        handler = make_handler(Runtime(lambda: loaded))
        handler(hostile_shapes.event(hostile_shapes.form_fields(64)), LambdaContext())
        results = []
        for shape in hostile_shapes.SHAPES:
            measured = {}
            for kind in ("hostile", "honest"):
                request = getattr(shape, kind)(size)
                event = hostile_shapes.event(request)
                measured[kind] = _measure(handler, event, len(request.body), repeats, LambdaContext)
            body_mib = len(shape.hostile(size).body) / MIB
            results.append(
                ShapeResult(
                    shape.name, shape.description, body_mib, measured["hostile"], measured["honest"]
                )
            )
    return results


def _measure(
    handler: Any, event: dict[str, Any], size: int, repeats: int, context: Any
) -> Measured:
    _reset_peak()
    before = _rss_kb("VmRSS")
    response = handler(event, context(timeout_ms=60_000))
    peak = max(0, _rss_kb("VmHWM") - before) / 1024
    cpu = []
    for _ in range(repeats):
        started = time.thread_time()
        handler(event, context(timeout_ms=60_000))
        cpu.append(time.thread_time() - started)
    per_mib = statistics.median(cpu) * 1000 / (size / MIB)
    return Measured(response["statusCode"], len(response.get("body", "")), per_mib, peak)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to the current RSS


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


@contextmanager
def _quiet() -> Iterator[None]:
    """Access log and metrics are written (as deployed), to /dev/null."""
    package = logging.getLogger("grpc_transcoder")
    with open(os.devnull, "w") as null:
        handler = logging.StreamHandler(null)
        package.addHandler(handler)
        package.propagate = False
        stdout, sys.stdout = sys.stdout, null
        try:
            yield
        finally:
            sys.stdout = stdout
            package.removeHandler(handler)
            package.propagate = True
