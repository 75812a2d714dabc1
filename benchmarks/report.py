"""Each benchmark section as a Markdown table, with the targets it is judged by."""

from __future__ import annotations

import platform
import tempfile
from pathlib import Path

from benchmarks import cold_start
from benchmarks import warm as warm_bench

# (CPU vs direct, wall p50 vs direct) for the GET, the 20-field POST and the stream (no target).
# CPU and wall targets by warm scenario, in order; the Connect rows have none of their own.
WARM_TARGETS: tuple[tuple[float | None, float | None], ...] = (
    (2.0, 1.5),
    (2.5, 1.8),
    (None, None),
    (None, None),
    (None, None),
)
NAIVE_CPU_TARGET = 1.5  # times less CPU than the naive transcoder
NAIVE_COLD_TARGET_PERCENT = 30.0  # the example set's cold start, below the naive transcoder's
RSS_TARGET_MB = 100.0


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f" (target ≤ {target}: {'met' if value <= target else 'MISSED'})"


def warm(quick: bool) -> str:
    results = warm_run(quick)
    rows = [
        "### Warm overhead: handler vs direct grpcio call vs the naive transcoder",
        "",
        "CPU is the calling thread's per request (`time.thread_time()`); wall is per call; billed is",
        "projected for a 128 MB function (1/14 of a vCPU: the CPU part stretches 13.8 times) and for",
        "1,769 MB (one vCPU).",
        "",
        "| request | direct CPU µs | handler CPU µs | naive CPU µs | CPU vs direct | CPU vs naive | direct p50 µs | handler p50 µs | naive p50 µs | wall p50 vs direct | handler p99 µs | billed ms 128 MB (handler / naive) | billed ms 1,769 MB (handler / naive) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result, (cpu_target, wall_target) in zip(results, WARM_TARGETS, strict=True):
        naive = result.naive
        naive_cpu = f"{naive.cpu_us:.0f}" if naive else "-"
        naive_p50 = f"{naive.p50_us:.0f}" if naive else "-"
        advantage = (
            f"{result.naive_cpu_advantage:.2f}x less{_verdict_at_least(result.naive_cpu_advantage, NAIVE_CPU_TARGET if cpu_target else None, unit='x')}"
            if naive
            else "-"
        )
        billed_128 = f"{result.billed_ms(128):.2f}" + (
            f" / {result.billed_ms(128, 'naive'):.2f}" if naive else ""
        )
        billed_vcpu = f"{result.billed_ms(1769):.2f}" + (
            f" / {result.billed_ms(1769, 'naive'):.2f}" if naive else ""
        )
        rows.append(
            f"| {result.name} | {result.direct.cpu_us:.0f} | {result.handler.cpu_us:.0f} | {naive_cpu} "
            f"| {result.cpu_ratio:.2f}{_verdict(result.cpu_ratio, cpu_target)} | {advantage} "
            f"| {result.direct.p50_us:.0f} | {result.handler.p50_us:.0f} | {naive_p50} "
            f"| {result.ratio_p50:.2f}{_verdict(result.ratio_p50, wall_target)} | {result.handler.p99_us:.0f} "
            f"| {billed_128} | {billed_vcpu} |"
        )
    return "\n".join(rows)


def warm_run(quick: bool) -> list[warm_bench.WarmResult]:
    if quick:
        return warm_bench.run(iterations=20, rounds=1, warmup=5)
    return warm_bench.run(iterations=2000, rounds=7, warmup=500)


def cold(quick: bool) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        package, skipped = _host_package(Path(scratch), bytecode=not quick)
        results = (
            cold_start.run(runs=1, mixed=20, synthetic=(50, 100), package=package)
            if quick
            else cold_start.run(runs=7, mixed=1000, package=package)
        )
    rows = [
        "### Cold start (ms, median of fresh processes) and memory (peak RSS, MB)",
        "",
        "| descriptor set | first response | bare imports | ratio | naive transcoder | below naive | RSS after cold start | RSS after mixed requests |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for index, result in enumerate(results):
        below = result.below_naive
        naive = (
            (
                f"{result.naive_ms:.0f}",
                f"{below:.0%}{_verdict_at_least(below * 100, NAIVE_COLD_TARGET_PERCENT if index == 0 else None, unit='%')}",
            )
            if result.naive_ms and below is not None
            else ("-", "-")
        )
        rows.append(
            f"| {result.name} | {result.handler_ms:.0f} | {result.imports_ms:.0f} "
            f"| {result.ratio:.2f}{_verdict(result.ratio, result.target)} | {naive[0]} | {naive[1]} | {result.cold_rss_mb:.1f} "
            f"| {result.mixed_rss_mb:.1f} ({result.mixed_requests} requests){_verdict(result.mixed_rss_mb, RSS_TARGET_MB)} |"
        )
    if skipped:
        rows += ["", f"The built package was not measured: {skipped}."]
    return "\n".join(rows)


def _host_package(scratch: Path, *, bytecode: bool) -> tuple[cold_start.Packaged | None, str]:
    """The Lambda package built for this machine's architecture, to start with Python 3.13.

    Lambda runs the same files on its own machines; this one can only run its own architecture.
    """
    from grpc_transcoder_tools import package_build
    from grpc_transcoder_tools.package_target import Architecture, Target, find_python

    machines = {"x86_64": Architecture.X86_64, "aarch64": Architecture.ARM64}
    architecture = machines.get(platform.machine())
    if architecture is None:
        return None, f"no Lambda architecture is {platform.machine()}"
    target = Target(architecture, "3.13")
    python = find_python(target.python_version, required=False)
    if python is None:
        return None, f"no CPython {target.python_version} on this machine"
    directory = scratch / "package"
    package_build.build(directory, target=target, bytecode=bytecode, python=python)
    label = f"{architecture.value}, Python {target.python_version}"
    return cold_start.Packaged(
        label if bytecode else f"{label}, no bytecode", python, str(directory)
    ), ""


CODEC_TARGET = 4.0


def codec(quick: bool) -> str:
    from benchmarks import codec as codec_bench

    results = codec_bench.run(20 if quick else 400)
    rows = [
        "### Codec: the project's JSON codec vs protobuf json_format (µs per message, best of alternating rounds)",
        "",
        "| message | operation | codec | json_format | speedup |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, operations in results.items():
        for operation, row in operations.items():
            target = CODEC_TARGET if operation in ("encode", "decode") else None
            rows.append(
                f"| {name} | {operation} | {row['codec_us']:.1f} | {row['json_format_us']:.1f} "
                f"| {row['speedup']:.1f}x{_verdict_at_least(row['speedup'], target)} |"
            )
    return "\n".join(rows)


def _verdict_at_least(value: float, target: float | None, *, unit: str = "x") -> str:
    if target is None:
        return ""
    return f" (target ≥ {target:g}{unit}: {'met' if value >= target else 'MISSED'})"


def routing(quick: bool) -> str:
    from benchmarks import routing_lookup

    results = routing_lookup.run(lookups=2_000 if quick else 200_000, rounds=1 if quick else 7)
    rows = [
        "### Routing: lookup time by table size (µs per match, median of rounds)",
        "",
        "| routes in the table | per lookup |",
        "| ---: | ---: |",
    ]
    rows += [f"| {r.routes:,} | {r.per_lookup_us:.2f} |" for r in results]
    return "\n".join(rows)


def package(quick: bool) -> str:
    from grpc_transcoder_tools import package_build
    from grpc_transcoder_tools.package_target import Architecture, Target

    rows = [
        "### Package: the Lambda package as `sam build` makes it",
        "",
        "| target | files | unzipped | zipped |",
        "| --- | ---: | ---: | ---: |",
    ]
    targets = (
        [Target(Architecture.ARM64, "3.13")]
        if quick
        else [Target(Architecture.ARM64, "3.13"), Target(Architecture.X86_64, "3.13")]
    )
    for target in targets:
        with tempfile.TemporaryDirectory() as scratch:
            report = package_build.build(
                Path(scratch) / "package", target=target, bytecode=not quick
            )
        mib = package_build.MIB
        rows.append(
            f"| {target.architecture.value}, Python {target.python_version}{'' if not quick else ' (no bytecode)'} "
            f"| {report.files:,} | {report.unzipped_bytes / mib:.1f} MiB | {report.zipped_bytes / mib:.1f} MiB |"
        )
    return "\n".join(rows)


# A hostile body may cost no more than twice a well-formed body of the same size and kind
# (most cost less: decoding stops at the first 100 problems).
HOSTILE_CPU_TARGET = 2.0


def hostile(quick: bool) -> str:
    from benchmarks import hostile as hostile_bench

    results = hostile_bench.run(
        size=64 * 1024 if quick else hostile_bench.MIB, repeats=1 if quick else 5
    )
    rows = [
        "### Hostile bodies: CPU per MiB of body and peak RSS per request, next to a well-formed body of the same size and kind",
        "",
        "| shape | body | hostile: status, answer | hostile CPU ms/MiB | hostile peak RSS | well-formed: status | well-formed CPU ms/MiB | well-formed peak RSS | CPU hostile / well-formed |",
        "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| {r.name} ({r.description}) | {r.body_mib:.2f} MiB | {r.hostile.status}, {r.hostile.answer_bytes:,} B "
            f"| {r.hostile.cpu_ms_per_mib:.1f} | {r.hostile.peak_rss_mb:.1f} MB | {r.honest.status} "
            f"| {r.honest.cpu_ms_per_mib:.1f} | {r.honest.peak_rss_mb:.1f} MB | {r.cpu_ratio:.2f}{_verdict(r.cpu_ratio, HOSTILE_CPU_TARGET)} |"
        )
    return "\n".join(rows)


def compression(quick: bool) -> str:
    from benchmarks import compression as compression_bench

    count = 50 if quick else 200
    results = (
        compression_bench.run(count=count, iterations=5, rounds=1)
        if quick
        else compression_bench.run(count=count)
    )
    rows = [
        f"### Compression: a {count}-message list answer, gzip and not (handler CPU per request)",
        "",
        "| answer | body bytes | Lambda payload bytes | CPU µs | p50 µs |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        rows.append(
            f"| {result.name} | {result.body_bytes:,} | {result.payload_bytes:,} "
            f"| {result.timing.cpu_us:.0f} | {result.timing.p50_us:.0f} |"
        )
    return "\n".join(rows)
