"""Micro-benchmark: request decoding against a json_format-based decoder, side by side.

`python -m benchmarks.request_decoding [ITERATIONS]` prints microseconds per request for
- `get-query`: GET /v1/books:search with five query parameters (a string, an enum, a Timestamp,
  a DoubleValue, an int32);
- `post-body`: POST /v1/shelves/{shelf}/books with a ~20-field Book as the JSON body;
- `patch-mask`: PATCH of that Book, whose update mask is filled from the body's keys.
The baseline is the simple decoder built on protobuf's json_format (parse_qsl, nest the pairs
into a dict, `json_format.ParseDict`). Routing is excluded from both. The two run in
alternating batches so that both see the same machine noise; the figures are medians over
the rounds of each batch's p50 and p99.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_transcoder_tools import example_backend

from grpc_transcoder.decoding.request import RequestDecoder
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.table import Match

ROUNDS = 7
DEFAULT_ITERATIONS = 1000
QUERY = "query=dune&genres=FICTION&published_after=2000-01-01T00:00:00Z&min_rating=4.5&page_size=10"
JSON = {"content-type": "application/json"}
BOOK = {
    "title": "Dune",
    "subtitle": "Book one of the Dune chronicles",
    "authors": ["Frank Herbert", "Brian Herbert"],
    "genre": "FICTION",
    "pageCount": 412,
    "copiesSold": "20000000",
    "isbn": "9780441172719",
    "rating": 4.6,
    "price": 9.99,
    "available": True,
    "publishTime": "2001-09-09T01:46:40Z",
    "readingTime": "21600s",
    "labels": {"series": "dune", "language": "en"},
    "metadata": {"language": "en", "awards": ["Hugo", "Nebula"], "printings": 3},
    "publisher": "Chilton Books",
    "edition": 2,
    "thumbnail": "iVBORw0KGgotdGh1bWJuYWls",
    "reviews": [
        {"reader": f"reader-{i}", "stars": 5 - i, "text": "A classic.",
         "createTime": "2020-09-13T12:26:40Z"}
        for i in range(3)
    ],
    "updateTime": "2023-11-14T22:13:20.123Z",
}  # fmt: skip


@dataclass(frozen=True)
class Percentiles:
    p50_us: float
    p99_us: float


def run(iterations: int) -> dict[str, dict[str, Percentiles]]:
    """p50 and p99 in microseconds per request, ours and the baseline, per case."""
    registry = example_backend.load_registry()
    routes, _ = routing.routes_for(registry)
    table = routing.RouteTable(routes)
    decoder = RequestDecoder(JsonCodec(registry.pool, JsonOptions()))
    body = orjson.dumps(BOOK)
    cases = {
        "get-query": ("GET", "/v1/books:search", QUERY, b""),
        "post-body": ("POST", "/v1/shelves/fiction/books", "", body),
        "patch-mask": ("PATCH", "/v1/shelves/fiction/books/dune", "", body),
    }
    results = {}
    for name, (method, path, query, raw) in cases.items():
        match = table.match(method, path)
        http = HttpRequest(method=method, path=path, query=query, headers=JSON, body=raw)
        new = registry.message_class(match.route.method.input)
        calls: dict[str, Callable[[], object]] = {
            "decoding": lambda: decoder.decode(match, http, new()),  # noqa: B023 - used at once
            "json_format": lambda: _baseline(registry, match, http, new()),  # noqa: B023
        }
        results[name] = _interleaved(calls, iterations)
    return results


def _interleaved(calls: dict[str, Callable[[], object]], iterations: int) -> dict[str, Percentiles]:
    """Batches of each call in turn, ROUNDS times; medians of each batch's p50 and p99."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for call in calls.values():
        _batch(call, 200)  # compile plans and converters, warm caches
    for _ in range(ROUNDS):
        for name, call in calls.items():
            times = sorted(_batch(call, iterations))
            samples[name].append((times[len(times) // 2], times[int(len(times) * 0.99)]))
    return {
        name: Percentiles(
            statistics.median(p50 for p50, _ in rounds) / 1000,
            statistics.median(p99 for _, p99 in rounds) / 1000,
        )
        for name, rounds in samples.items()
    }


def _batch(call: Callable[[], object], iterations: int) -> list[int]:
    clock = time.perf_counter_ns
    times = []
    for _ in range(iterations):
        start = clock()
        call()
        times.append(clock() - start)
    return times


def _baseline(registry: Registry, match: Match, http: HttpRequest, message: Message) -> Message:
    """The walking skeleton's decoder: everything into one dict, then json_format."""
    tree: dict[str, Any] = {}
    if match.route.body:
        value = orjson.loads(http.body)
        tree = value if match.route.body == "*" else {match.route.body: value}
    for path, text in match.bindings:
        _assign(tree, path, text)
    fields = message.DESCRIPTOR.fields_by_name
    for key, text in parse_qsl(http.query, keep_blank_values=True):
        field = fields.get(key)
        if field is not None and field.is_repeated:
            tree.setdefault(key, []).append(text)
        else:
            _assign(tree, tuple(key.split(".")), text)
    return json_format.ParseDict(tree, message, descriptor_pool=registry.pool)


def _assign(tree: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for name in path[:-1]:
        tree = tree.setdefault(name, {})
    tree[path[-1]] = value


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    iterations = int(args[0]) if args else DEFAULT_ITERATIONS
    header = f"{'decoding p50/p99 µs':>20} {'json_format p50/p99 µs':>23} {'p50 speedup':>12}"
    print(f"{'request':11} {header}")
    for name, row in run(iterations).items():
        ours, theirs = row["decoding"], row["json_format"]
        print(
            f"{name:11} {ours.p50_us:10.1f}/{ours.p99_us:<9.1f} {theirs.p50_us:13.1f}/"
            f"{theirs.p99_us:<9.1f} {theirs.p50_us / ours.p50_us:11.1f}x"
        )


if __name__ == "__main__":
    main()
