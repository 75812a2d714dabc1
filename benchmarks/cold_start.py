"""Cold start and memory: fresh processes importing the handler and serving requests.

Each cold start runs `benchmarks.cold_child` in a new interpreter with descriptors read from a
local S3 endpoint, next to a fresh process that only imports the same third-party modules the
handler process ended up loading. Bytecode caches are warmed first (the Lambda package ships
precompiled bytecode). Memory is the peak RSS after the cold start and after mixed requests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from benchmarks.processes import LIBRARY_SET, ROOT, example_backend, s3_endpoint, upload
from benchmarks.warm import KINDS_BODY
from grpc_transcoder.loading.blob import Blob

COLD_TARGETS = (1.3, 1.6)  # the cold start over the bare imports: example set, 2,000 methods


@dataclass(frozen=True)
class ColdResult:
    name: str
    handler_ms: float
    imports_ms: float
    cold_rss_mb: float
    mixed_rss_mb: float
    mixed_requests: int
    naive_ms: float | None = None  # the naive transcoder's first response, same set
    target: float | None = None  # the ratio to the bare imports it should stay under

    @property
    def ratio(self) -> float:
        return self.handler_ms / self.imports_ms

    @property
    def below_naive(self) -> float | None:
        """How far below the naive transcoder's cold start this one is (0.3: 30% below)."""
        return 1 - self.handler_ms / self.naive_ms if self.naive_ms else None


def _events() -> list[dict[str, Any]]:
    from tests.event_builder import Source, build

    return [
        build(Source.HTTP_API, "GET", "/v1/shelves/fiction"),
        build(Source.HTTP_API, "GET", "/v1/shelves/fiction/books/dune"),
        build(
            Source.HTTP_API, "POST", "/v1/debug/kinds:echo", body=orjson.dumps(KINDS_BODY).decode()
        ),
        build(Source.HTTP_API, "GET", "/v1/shelves/science/books", query=[("pageSize", "5")]),
        build(Source.HTTP_API, "GET", "/v1/authors/nobody"),
        build(Source.HTTP_API, "GET", "/v1/debug:stream", query=[("count", "10")]),
        build(Source.HTTP_API, "POST", "/library.v1.LibraryService/GetLibraryInfo", body="{}"),
        build(Source.HTTP_API, "GET", "/no/such/route"),
        build(Source.HTTP_API, "POST", "/v1/shelves", body="{not json"),
        build(Source.HTTP_API, "GET", "/v1/books:search", query=[("query", "dune")]),
    ]


@dataclass(frozen=True)
class Packaged:
    """A built Lambda package and an interpreter of its runtime's Python to start it with."""

    label: str  # e.g. "x86_64, Python 3.13"
    python: str
    directory: str


CHILD = ROOT / "benchmarks" / "cold_child.py"


def _command(mode: str, package: Packaged | None) -> list[str]:
    if package is None:
        return [sys.executable, "-m", "benchmarks.cold_child", mode]
    # As Lambda runs it: the package and the standard library, nothing else on the path.
    return [package.python, "-I", "-S", str(CHILD), mode, package.directory]


def _child(
    mode: str, payload: dict[str, Any], env: dict[str, str], package: Packaged | None = None
) -> dict[str, Any]:
    done = subprocess.run(
        _command(mode, package),
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start child ({mode}) failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(
    name: str,
    descriptors: str,
    *,
    backend: str,
    runs: int,
    mixed: int,
    package: Packaged | None = None,
    naive: bool = False,
    target: float | None = None,
    settings: dict[str, str] | None = None,
) -> ColdResult:
    """Median cold starts of the handler and of the bare imports (and with `naive`, of the
    naive transcoder, which reads only `s3://` descriptor locations), then peak RSS.
    `settings` are further TRANSCODER_* variables."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        TRANSCODER_DESCRIPTORS=descriptors,
        TRANSCODER_BACKENDS=backend,
        TRANSCODER_LOG_LEVEL="WARNING",
        **(settings or {}),
    )
    events = _events()
    first = _child("handler", {"events": events[:1]}, env, package)  # writes bytecode caches
    if first["first_status"] != 200:
        raise RuntimeError(f"the first request answered {first['first_status']}")
    modules = {"modules": first["modules"]}
    _child("imports", modules, env, package)
    if naive:
        _child("naive", {"events": events[:1]}, env)
    handler_ms, imports_ms, naive_ms, cold_rss = [], [], [], []
    for _ in range(runs):
        result = _child("handler", {"events": events[:1]}, env, package)
        handler_ms.append(result["elapsed_ms"])
        cold_rss.append(result["cold_rss_kb"])
        imports_ms.append(_child("imports", modules, env, package)["elapsed_ms"])
        if naive:
            naive_ms.append(_child("naive", {"events": events[:1]}, env)["elapsed_ms"])
    repeat = max(1, mixed // len(events))
    busy = _child("handler", {"events": events, "repeat": repeat}, env, package)
    return ColdResult(
        name,
        statistics.median(handler_ms),
        statistics.median(imports_ms),
        statistics.median(cold_rss) / 1024,
        busy["peak_rss_kb"] / 1024,
        busy["requests"],
        statistics.median(naive_ms) if naive_ms else None,
        target,
    )


def run(
    *,
    runs: int = 5,
    mixed: int = 1000,
    synthetic: tuple[int, int] = (2000, 5000),
    package: Packaged | None = None,
) -> list[ColdResult]:
    """The example set and the large set from the development environment, the example API
    from an unannotated set and a service config, and by server reflection; then (with
    `package`) the example set from the built package."""
    from grpc_transcoder.loading import registry as descriptors
    from tests.service_configs import config_of, rules_of, unannotated_set

    results = []
    with example_backend() as backend, s3_endpoint() as url:
        library = upload(url, "bench-descriptors", "library.binpb", LIBRARY_SET.read_bytes())
        results.append(
            measure(
                "example set",
                library,
                backend=backend,
                runs=runs,
                mixed=mixed,
                naive=True,
                target=COLD_TARGETS[0],
            )
        )
        big = upload(url, "bench-descriptors", "synthetic.binpb", _synthetic(*synthetic))
        name = f"example + {synthetic[0]:,} methods / {synthetic[1]:,} types"
        results.append(
            measure(
                name,
                f"{library},{big}",
                backend=backend,
                runs=runs,
                mixed=mixed,
                naive=True,
                target=COLD_TARGETS[1],
            )
        )
        bare = upload(url, "bench-descriptors", "library-bare.binpb", unannotated_set())
        rules = rules_of(descriptors.build([Blob("library", LIBRARY_SET.read_bytes())]))
        config = upload(url, "bench-descriptors", "library.yaml", config_of(rules))
        results.append(
            measure(
                "example API: unannotated set + service config YAML",
                bare,
                backend=backend,
                runs=runs,
                mixed=mixed,
                settings={"TRANSCODER_SERVICE_CONFIG": config},
            )
        )
        results.append(
            measure(
                "example API by server reflection (grpc://)",
                f"grpc://{backend}",
                backend=backend,
                runs=runs,
                mixed=mixed,
            )
        )
        if package is not None:
            results.append(
                measure(
                    f"example set, built package ({package.label})",
                    library,
                    backend=backend,
                    runs=runs,
                    mixed=mixed,
                    package=package,
                    target=COLD_TARGETS[0],
                )
            )
    return results


def _synthetic(methods: int, types: int) -> bytes:
    from grpc_transcoder_tools import synthetic_set

    return synthetic_set.generate(methods=methods, message_types=types)
