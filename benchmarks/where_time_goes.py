"""Where the time goes: `python -m benchmarks.where_time_goes warm|cold [--quick]`.

`warm`: the CPU of one warm `GET /v1/shelves/fiction` through the handler, three ways: with
the real call to the example backend, with the gRPC call replaced by a canned answer (the
transcoder's own Python), and a direct grpcio call with the handler's metadata (the call the
handler makes). Then a `cProfile` of the real requests, grouped by where the code lives, with
the functions that cost most.

`cold`: fresh processes reading the example set from a local S3 endpoint, timed in stages:
the third-party imports, the transcoder's own modules, the load (S3, descriptors, routes)
and the first request.

These are for reading, not targets: the benchmark table (`python -m benchmarks`) is the
measure.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.processes import LIBRARY_SET, ROOT, example_backend, s3_endpoint, upload


def _cpu_us(call: Callable[[], object], iterations: int, rounds: int = 5) -> float:
    for _ in range(iterations // 5 + 1):
        call()
    per_round = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(iterations):
            call()
        per_round.append((time.thread_time() - started) / iterations * 1e6)
    return statistics.median(per_round)


def warm(iterations: int) -> str:
    import grpc

    from benchmarks.warm import _invoke, _quiet_logging
    from tests.event_builder import Source, build

    with example_backend() as target:
        os.environ["TRANSCODER_DESCRIPTORS"] = str(LIBRARY_SET)
        os.environ["TRANSCODER_BACKENDS"] = target
        _quiet_logging()
        saved, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 - the EMF lines
        try:
            from grpc_transcoder.calling.caller import UnaryResult
            from grpc_transcoder.lambda_handler import handler, runtime

            state = runtime.current()
            handle = _invoke(handler, build(Source.HTTP_API, "GET", "/v1/shelves/fiction"))
            real = _cpu_us(handle, iterations)
            profile = cProfile.Profile(time.thread_time)
            profile.runcall(lambda: [handle() for _ in range(iterations)])

            method = state.registry.methods["/library.v1.LibraryService/GetShelf"]
            request = state.registry.message_class(method.input)(name="shelves/fiction")
            channel = grpc.insecure_channel(target)
            call = channel.unary_unary(
                "/library.v1.LibraryService/GetShelf",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=state.registry.message_class(method.output).FromString,
            )
            metadata = (
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-host", "api.example.com"),
                ("x-request-id", "0d6c5f4e-0000-4000-8000-000000000000"),
            )
            direct = _cpu_us(lambda: call(request, timeout=10), iterations)
            with_metadata = _cpu_us(
                lambda: call.with_call(request, timeout=10, metadata=metadata), iterations
            )
            channel.close()

            answer = state.registry.message_class(method.output)(name="shelves/fiction")
            canned = UnaryResult(answer.SerializeToString(), (), ())
            state.caller.unary = lambda *_: canned  # type: ignore[method-assign]
            own = _cpu_us(handle, iterations)
        finally:
            sys.stdout.close()
            sys.stdout = saved
    lines = [
        "CPU per warm GET /v1/shelves/fiction (µs, time.thread_time, median of 5 rounds)",
        f"  handler, real backend call         {real:8.1f}",
        f"  handler, canned answer (own code)  {own:8.1f}",
        f"  direct grpcio call                 {direct:8.1f}",
        f"  direct, with_call + 3 metadata     {with_metadata:8.1f}",
        "",
        f"cProfile of {iterations} real requests: self time per request by where the code lives",
    ]
    stats = pstats.Stats(profile)
    groups: dict[str, list[float]] = {}
    rows = []
    for (file, line, function), (_, calls, own_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        group = _group(file)
        total = groups.setdefault(group, [0.0, 0.0])
        total[0] += own_time
        total[1] += calls
        rows.append((own_time, calls, f"{file.split('site-packages/')[-1]}:{line}({function})"))
    for group, (seconds, calls) in sorted(groups.items(), key=lambda item: -item[1][0]):
        lines.append(
            f"  {group:10} {seconds / iterations * 1e6:8.1f} µs  {calls / iterations:6.1f} calls"
        )
    lines += ["", "the 15 functions with the most self time (µs per request, profiled)"]
    for seconds, calls, name in sorted(rows, reverse=True)[:15]:
        lines.append(f"  {seconds / iterations * 1e6:7.1f}  {calls / iterations:5.1f}x  {name}")
    return "\n".join(lines)


def _group(file: str) -> str:
    if "grpc_transcoder" in file:
        return "transcoder"
    for name in ("grpc", "mangum", "google"):
        if f"/{name}/" in file:
            return name
    return "builtins" if file == "~" else "stdlib"


_COLD_CHILD = r"""
import json, sys, time
started = time.perf_counter()
import google.protobuf, grpc, mangum, orjson
third_party = time.perf_counter()
import grpc_transcoder.edge.adapter, grpc_transcoder.pipeline
own = time.perf_counter()
from grpc_transcoder.lambda_handler import handler
loaded = time.perf_counter()
answer = handler(json.loads(sys.stdin.read()), None)
done = time.perf_counter()
print(json.dumps({
    "third-party imports": third_party - started,
    "the transcoder's modules": own - third_party,
    "load (S3, descriptors, routes)": loaded - own,
    "first request": done - loaded,
    "status": answer["statusCode"],
    "botocore imported": "botocore" in sys.modules,
}))
"""


def cold(runs: int) -> str:
    from tests.event_builder import Source, build

    event = json.dumps(build(Source.HTTP_API, "GET", "/v1/shelves/fiction"))
    results: list[dict[str, Any]] = []
    with example_backend() as backend, s3_endpoint() as url:
        descriptors = upload(url, "profile-descriptors", "library.binpb", LIBRARY_SET.read_bytes())
        env = dict(
            os.environ,
            TRANSCODER_DESCRIPTORS=descriptors,
            TRANSCODER_BACKENDS=backend,
            TRANSCODER_LOG_LEVEL="WARNING",
        )
        for _ in range(runs + 1):  # the first one writes the bytecode caches
            done = subprocess.run(
                [sys.executable, "-c", _COLD_CHILD],
                input=event,
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=True,
            )
            results.append(json.loads(done.stdout.splitlines()[-1]))
    results = results[1:]
    lines = [f"Cold start of the example set from S3 (ms, median of {runs} fresh processes)"]
    for stage in results[0]:
        values = [result[stage] for result in results]
        if isinstance(values[0], float):
            lines.append(f"  {stage:32} {statistics.median(values) * 1000:7.1f}")
        else:
            lines.append(f"  {stage:32} {values[0]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.where_time_goes")
    parser.add_argument("what", choices=("warm", "cold"))
    parser.add_argument("--quick", action="store_true", help="tiny counts: proves it runs")
    args = parser.parse_args(argv)
    if args.what == "warm":
        print(warm(20 if args.quick else 2000))
    else:
        print(cold(1 if args.quick else 7))


if __name__ == "__main__":
    main()
