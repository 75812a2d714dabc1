"""Routing: lookup time in a table of about 10 routes vs one of about 2,000 (should be flat).

Both tables are compiled from synthetic descriptor sets exactly as the cold start compiles
them; each lookup matches a concrete path made from one of the table's own templates.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.templates import DEEP_WILDCARD, WILDCARD, PathTemplate


@dataclass(frozen=True)
class LookupResult:
    routes: int
    per_lookup_us: float


def concrete_path(template: PathTemplate) -> str:
    """A request path the template matches: each wildcard replaced by a sample value."""
    parts = [
        "seg1" if s == WILDCARD else "a/b" if s == DEEP_WILDCARD else s for s in template.segments
    ]
    path = "/" + "/".join(parts)
    return f"{path}:{template.verb}" if template.verb else path


def table_for(methods: int) -> routing.RouteTable:
    from grpc_transcoder_tools import synthetic_set

    data = synthetic_set.generate(methods=methods, message_types=max(30, methods * 2))
    registry = descriptors.build([Blob("synthetic", data)])
    routes, _ = routing.routes_for(registry)
    return routing.RouteTable(routes)


def measure(methods: int, *, lookups: int, rounds: int) -> LookupResult:
    table = table_for(methods)
    requests = [
        (r.http_method if r.http_method != "*" else "GET", concrete_path(r.template))
        for r in table.routes
    ]
    for method, path in requests:
        table.match(method, path)  # every sample path must route
    timings = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for index in range(lookups):
            method, path = requests[index % len(requests)]
            table.match(method, path)
        timings.append((time.perf_counter_ns() - start) / lookups / 1000)
    return LookupResult(len(table.routes), statistics.median(timings))


def run(*, lookups: int = 100_000, rounds: int = 5) -> list[LookupResult]:
    return [measure(methods, lookups=lookups, rounds=rounds) for methods in (5, 1000)]
