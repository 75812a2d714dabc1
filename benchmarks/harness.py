"""Timing helpers for the benchmarks: interleaved runs, percentiles, the machine and versions."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata

PACKAGES = ("grpcio", "protobuf", "mangum", "starlette", "botocore", "orjson")


@dataclass(frozen=True)
class Percentiles:
    p50_us: float
    p99_us: float
    cpu_us: float = 0.0  # CPU time of the calling thread per call (`time.thread_time()`)


def percentiles(samples_ns: Sequence[int]) -> Percentiles:
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Percentiles(p50 / 1000, p99 / 1000)


def sample(call: Callable[[], object], iterations: int) -> list[int]:
    """Wall time of each call in nanoseconds."""
    return timed(call, iterations)[0]


def timed(call: Callable[[], object], iterations: int) -> tuple[list[int], float]:
    """Wall time of each call in nanoseconds, and the thread's CPU time per call in µs.

    CPU is what a small Lambda bills: it gets a share of a core, so each µs of CPU stretches.
    A sync grpcio call does its completion-queue work on the calling thread, so it counts.
    """
    samples = []
    clock = time.perf_counter_ns
    cpu_started = time.thread_time()
    for _ in range(iterations):
        start = clock()
        call()
        samples.append(clock() - start)
    return samples, (time.thread_time() - cpu_started) / iterations * 1e6


def interleaved(
    calls: dict[str, Callable[[], object]], *, iterations: int, rounds: int, warmup: int
) -> dict[str, Percentiles]:
    """Run each call `iterations` times per round, alternating, for `rounds` rounds.

    Alternating batches exposes every contender to the same machine noise; the result per
    contender is the median over rounds of each round's p50, p99 and CPU per call.
    """
    for call in calls.values():
        sample(call, warmup)
    per_round: dict[str, list[Percentiles]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            samples, cpu = timed(call, iterations)
            found = percentiles(samples)
            per_round[name].append(Percentiles(found.p50_us, found.p99_us, cpu))
    return {
        name: Percentiles(
            statistics.median(p.p50_us for p in results),
            statistics.median(p.p99_us for p in results),
            statistics.median(p.cpu_us for p in results),
        )
        for name, results in per_round.items()
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (missing)")
    return f"Python {platform.python_version()}; " + ", ".join(found)
