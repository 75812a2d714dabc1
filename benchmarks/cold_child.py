"""One cold start in a fresh process: `python -m benchmarks.cold_child MODE [PACKAGE] < input.json`.

`handler`: import the Lambda handler module (settings, descriptors from S3, routes: the cold
start) and serve the first event. `naive`: the same with the naive transcoder
(`benchmarks.naive`). `mixed`: the same, then serve every event of the input once
more per repetition. `imports`: import only the listed third-party modules, in order. Prints one
JSON line: elapsed milliseconds up to the first response (or the imports), peak RSS in KiB, and
(handler modes) the third-party modules that were loaded.

With PACKAGE (a built Lambda package), everything is imported from that directory, as Lambda
does; run the file itself then (`python -I -S benchmarks/cold_child.py MODE PACKAGE`), with an
interpreter of the runtime's version.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402 - the clock starts at the first line
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402


class _Context:
    aws_request_id = "cold-start-benchmark"
    function_name = "grpc-transcoder"
    memory_limit_in_mb = 128

    def __init__(self) -> None:
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def _peak_rss_kb() -> int:
    """This process's peak RSS in KiB (VmHWM). Not `ru_maxrss`: on Linux that survives exec and
    reports the parent's size when the parent was the larger process."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


PACKAGE = sys.argv[2] if len(sys.argv) > 2 else ""
if PACKAGE:
    sys.path.insert(0, PACKAGE)


def _third_party() -> list[str]:
    def loaded_from_dependencies(name: str, path: str) -> bool:
        if PACKAGE:
            return path.startswith(PACKAGE) and not name.startswith("grpc_transcoder")
        return "site-packages" in path

    return [
        name
        for name, module in list(sys.modules.items())
        if loaded_from_dependencies(name, getattr(module, "__file__", None) or "")
    ]


def _serve(payload: dict[str, Any], *, naive: bool = False) -> dict[str, Any]:
    import importlib

    module = importlib.import_module(
        "benchmarks.naive" if naive else "grpc_transcoder.lambda_handler"
    )
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.handler

    events = payload["events"]
    first = handler(events[0], _Context())
    elapsed = (time.perf_counter() - START) * 1000
    cold_rss = _peak_rss_kb()
    statuses = [first["statusCode"]]
    for _ in range(payload.get("repeat", 0)):
        statuses.extend(handler(event, _Context())["statusCode"] for event in events)
    return {
        "elapsed_ms": elapsed,
        "cold_rss_kb": cold_rss,
        "first_status": first["statusCode"],
        "statuses": sorted(set(statuses)),
        "requests": len(statuses),
        "modules": _third_party(),
    }


def _imports(payload: dict[str, Any]) -> dict[str, Any]:
    import importlib

    for name in payload["modules"]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a module that cannot load on its own is skipped
            continue
    return {"elapsed_ms": (time.perf_counter() - START) * 1000}


def main() -> None:
    payload = json.loads(sys.stdin.read())
    mode = sys.argv[1]
    result = _imports(payload) if mode == "imports" else _serve(payload, naive=mode == "naive")
    result["peak_rss_kb"] = _peak_rss_kb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
