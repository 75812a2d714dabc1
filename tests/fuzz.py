"""`python -m tests.fuzz` (or `./tasks fuzz`): a bounded, seeded campaign of hostile requests.

Mutates well-formed requests of the example API (method, path, query, headers, body, content
type and the base64 flag) and sends each as one of the five event shapes through the real
Lambda handler, against the example backend on loopback. Prints a table: answers by status,
transcoder faults (5xx that are not the backend's), exceptions escaping the handler, bodies
that show a traceback or a file path, answers slower than 1 s, RSS before and after. Exits 1
on any transcoder fault, escape or leaking body.

    ./tasks fuzz                      10,000 requests, seed 1
    ./tasks fuzz --count 500 --seed 7
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import logging
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_SET = ROOT / "descriptors" / "library.binpb"
SLOW_SECONDS = 1.0
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda refuses larger invocation payloads
# What no answer may show: the function's own code and files.
LEAKS = ("Traceback", 'File "', "site-packages", "grpc_transcoder/", ".py:", str(ROOT))
# A transcoder fault: an INTERNAL or UNKNOWN answer (HTTP 500) that the backend did not choose.
# Other 5xx are answers by design: 501 for what is not served, 502 for a response over the
# limit, 503 for a backend that cannot be reached, 504 for a deadline.
NOT_FAULTS = frozenset({"BackendError"})

KINDS: dict[str, Any] = {
    "fDouble": 3.25,
    "fInt64": "9007199254740993",
    "fBool": True,
    "fString": "fuzz",
    "fBytes": "aGVsbG8=",
    "fEnum": "HIGH",
    "fNested": {"label": "inner", "count": 7, "child": {"fInt32": 1}},
    "rString": ["a", "b"],
    "mString": {"k": "v"},
    "wTimestamp": "2024-05-06T07:08:09.123Z",
    "wDuration": "1.5s",
    "wStruct": {"a": [1, "b", None]},
    "wAny": {"@type": "type.googleapis.com/library.v1.Shelf", "theme": "x"},
    "wFieldMask": "fDouble,fNested.label",
    "wInt32Value": 3,
}


@dataclass(frozen=True, slots=True)
class Seed:
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    content_type: str = ""
    body: bytes | None = None


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


SEEDS: tuple[Seed, ...] = (
    Seed("GET", "/v1/shelves", (("pageSize", "2"),)),
    Seed("GET", "/v1/shelves/fiction"),
    Seed("GET", "/v1/shelves/fiction/books/dune", (("readMask", "title"),)),
    Seed("GET", "/v1/shelves/fiction/books/dune/cover"),
    Seed("GET", "/v1/books:search", (("query", "dune"), ("genres", "SCIENCE_FICTION"))),
    Seed("GET", "/v1/debug:stream", (("count", "3"),)),
    Seed("GET", "/v1/authors/a1"),
    Seed("POST", "/v1/shelves", (), "application/json", _json({"theme": "Poetry"})),
    Seed("POST", "/v1/shelves", (), "application/x-www-form-urlencoded", b"theme=a&labels[k]=v"),
    Seed("PATCH", "/v1/shelves/fiction/books/dune", (), "application/json", _json({"title": "T"})),
    Seed("POST", "/v1/debug/kinds:echo", (), "application/json", _json(KINDS)),
    Seed("POST", "/library.v1.DebugService/EchoKinds", (), "application/json", _json(KINDS)),
    Seed("POST", "/v1/debug:fail", (), "application/json", _json({"code": 5, "message": "m"})),
    Seed(
        "POST",
        "/v1/books:import",
        (),
        "application/x-ndjson",
        b'{"name": "shelves/fiction/books/f1"}\n{"name": "shelves/fiction/books/f2"}\n',
    ),
    Seed("PUT", "/v1/shelves/fiction/books/dune/cover", (), "image/png", b"\x89PNG\r\n\x1a\n"),
    Seed(
        "POST",
        "/library.v1.LibraryService/GetShelf",
        (),
        "application/x-protobuf",
        b"\n\x0fshelves/fiction",
    ),
    Seed(
        "POST",
        "/library.v1.DebugService/Chat",
        (),
        "application/grpc-web+proto",
        b"\x00\x00\x00\x00\x03\n\x01a",
    ),
    Seed("GET", "/healthz"),
    Seed("GET", "/openapi.json"),
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "get", "", "X" * 40)
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "application/x-ndjson",
    "application/x-protobuf",
    "application/grpc-web+proto",
    "application/grpc-web-text+proto",
    "application/grpc-web+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
    ";;;",
    "application/json\r\nX-Evil: 1",
)
PATH_PIECES = (
    "%0A",
    "%00",
    "%2F",
    "%25",
    "%FF",
    "..",
    ".",
    "//",
    "{x}",
    ":verb",
    ":",
    "*",
    "\u00e9",
    "%E9",
    "a" * 300,
    "shelves",
    "books",
    "/",
    "%",
    "%G0",
    " ",
)
VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2**63,
    -(2**63) - 1,
    "",
    "x" * 5000,
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 400,
    "\u0000",
    "\ud7ff",
    [],
    {},
    [[[]]],
    {"a": {"b": {}}},
    "2024-13-45T99:99:99Z",
    "-5s",
    "@@@",
    "====",
    {"@type": "x/y"},
    {"@type": 5},
    {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s"},
)
HEADER_NAMES = (
    "host",
    "x-forwarded-for",
    "grpc-timeout",
    "accept",
    "grpc-metadata-x-a",
    "grpc-metadata-x-a-bin",
    "authorization",
    "traceparent",
    "x-amzn-trace-id",
    "x-grpc-web",
    "grpc-metadata-grpc-status",
    "grpc-metadata-x-forwarded-for-bin",
    "content-length",
)
HEADER_VALUES = (
    "",
    "[::1]",
    "a:b:c",
    "1S",
    "99999999H",
    "-1m",
    "x" * 9000,
    "\u00e9",
    "1.2.3.4, 5.6.7.8",
    "00-" + "0" * 32 + "-" + "0" * 16 + "-01",
    "Root=1-00000000-000000000000000000000000",
    "Zm9v",
    "!!",
    "*/*",
    "application/x-ndjson",
    "application/grpc-web-text",
)


@dataclass(slots=True)
class Mutant:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes | None
    base64: bool = False
    changes: list[str] = field(default_factory=list)


def mutate(seed: Seed, rng: random.Random) -> Mutant:
    headers = [("content-type", seed.content_type)] if seed.content_type else []
    mutant = Mutant(seed.method, seed.path, list(seed.query), headers, seed.body)
    for _ in range(rng.randint(1, 3)):
        name, change = rng.choice(MUTATIONS)
        change(mutant, rng)
        mutant.changes.append(name)
    return mutant


def _method(m: Mutant, rng: random.Random) -> None:
    m.method = rng.choice(METHODS)


def _path(m: Mutant, rng: random.Random) -> None:
    at = rng.randint(0, len(m.path))
    if rng.random() < 0.5:
        m.path = m.path[:at] + rng.choice(PATH_PIECES) + m.path[at:]
    else:
        m.path = m.path[:at] + m.path[at + rng.randint(1, 8) :] or "/"


def _query(m: Mutant, rng: random.Random) -> None:
    key = rng.choice(("pageSize", "readMask", "nope", "labels[k]", "a.b.c", "x" * 200, "%FF", ""))
    value = str(rng.choice(VALUES))
    m.query.extend([(key, value)] * rng.choice((1, 2, 1200)))


def _header(m: Mutant, rng: random.Random) -> None:
    m.headers.append((rng.choice(HEADER_NAMES), rng.choice(HEADER_VALUES)))


def _content_type(m: Mutant, rng: random.Random) -> None:
    m.headers = [(k, v) for k, v in m.headers if k != "content-type"]
    m.headers.append(("content-type", rng.choice(CONTENT_TYPES)))


def _base64(m: Mutant, rng: random.Random) -> None:
    body = m.body or b""
    if rng.random() < 0.5:
        m.body = base64.b64encode(body)
    m.base64 = True


def _bytes(m: Mutant, rng: random.Random) -> None:
    body = bytearray(m.body or b"{}")
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(body) + 1)
        choice = rng.random()
        if choice < 0.4 and body:
            body[min(at, len(body) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            body[at:at] = rng.choice(
                (b"{", b"}", b"[", b'"', b",", b"\\u", b"\xff", b"\x00", b"\n")
            )
        else:
            del body[at : at + rng.randint(1, 16)]
    m.body = bytes(body)


def _json_value(m: Mutant, rng: random.Random) -> None:
    try:
        document = json.loads(m.body or b"")
    except (ValueError, RecursionError):
        document = {}
    m.body = json.dumps(_replace_somewhere(document, rng)).encode()


def _replace_somewhere(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        copy = dict(value)
        copy[key] = _replace_somewhere(value[key], rng)
        if rng.random() < 0.2:  # the same field again by another spelling, or a new key
            copy[rng.choice(("f_int64", "f_nested", "r_string", "unknownKey", key + "x"))] = 1
        return copy
    if isinstance(value, list) and value and rng.random() < 0.8:
        at = rng.randrange(len(value))
        return [*value[:at], _replace_somewhere(value[at], rng), *value[at + 1 :]]
    if rng.random() < 0.05:
        return [rng.choice(VALUES)] * 30_000
    return rng.choice(VALUES)


def _nesting(m: Mutant, rng: random.Random) -> None:
    depth = rng.choice((50, 101, 500, 2000))
    m.body = b'{"fNested":{"child":' * depth + b"{}" + b"}}" * depth


def _size(m: Mutant, rng: random.Random) -> None:
    body = m.body or b"{}"
    times = rng.choice((2, 100, 3000))
    m.body = body * max(1, min(times, MAX_EVENT_BYTES // len(body)))


MUTATIONS: tuple[tuple[str, Callable[[Mutant, random.Random], None]], ...] = (
    ("method", _method),
    ("path", _path),
    ("query", _query),
    ("header", _header),
    ("content-type", _content_type),
    ("base64", _base64),
    ("bytes", _bytes),
    ("json", _json_value),
    ("json", _json_value),
    ("nesting", _nesting),
    ("size", _size),
)


def event_of(mutant: Mutant, source: Any) -> dict[str, Any]:
    from tests.event_builder import build

    body = mutant.body
    try:
        text = body is None or bool(body.decode())
    except UnicodeDecodeError:  # API Gateway passes bodies that are not UTF-8 as base64
        text = False
    event = build(
        source,
        mutant.method,
        mutant.path,
        query=mutant.query,
        headers=mutant.headers,
        body=body,
        binary=not text,
    )
    if mutant.base64:  # the flag as the mutation left it, over whatever the body holds
        event["body"] = (body or b"").decode("latin-1")
        event["isBase64Encoded"] = True
    return event


@dataclass(slots=True)
class Tally:
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    faults: list[str] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    slow: int = 0
    requests: int = 0

    @property
    def clean(self) -> bool:
        return not (self.faults or self.escapes or self.leaks)


class _AccessRecords(logging.Handler):
    """The access log lines of the campaign, as parsed JSON."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith('{"event":"request"'):
            self.records.append(orjson.loads(message))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


@contextmanager
def _quiet(records: _AccessRecords) -> Iterator[None]:
    access = logging.getLogger("grpc_transcoder.access")
    package = logging.getLogger("grpc_transcoder")
    logging.getLogger("grpc").setLevel(logging.CRITICAL)  # the backend's complaints
    previous = (package.level, package.propagate, access.propagate)
    access.addHandler(records)
    silent = logging.NullHandler()
    package.addHandler(silent)
    access.propagate = package.propagate = False
    package.setLevel(logging.INFO)
    stdout, sys.stdout = sys.stdout, open("/dev/null", "w")  # noqa: SIM115 - metrics lines
    try:
        yield
    finally:
        sys.stdout.close()
        sys.stdout = stdout
        access.removeHandler(records)
        package.removeHandler(silent)
        package.setLevel(previous[0])
        package.propagate, access.propagate = previous[1], previous[2]


def run(count: int, seed: int) -> tuple[Tally, float, float]:
    """Send `count` mutants; the tally, and RSS in MB before and after."""
    sys.path.insert(0, str(ROOT / "tools"))
    # The handler module loads its own runtime at import: give it the example set too.
    os.environ.setdefault("TRANSCODER_DESCRIPTORS", str(LIBRARY_SET))
    from benchmarks.processes import example_backend

    with example_backend() as target:  # its own process: RSS is the function's alone
        return _campaign(target, count, seed)


def _campaign(target: str, count: int, seed: int) -> tuple[Tally, float, float]:
    from grpc_transcoder_tools.local_server import LambdaContext

    from grpc_transcoder import settings
    from grpc_transcoder.lambda_handler import make_handler
    from grpc_transcoder.loading.runtime import Runtime
    from tests.event_builder import Source

    loaded = settings.load(
        {},
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", target),),
        health_path="/healthz",
        openapi_path="/openapi.json",
        max_deadline=(("*", 2.0),),
    )
    handler = make_handler(Runtime(lambda: loaded))
    rng = random.Random(seed)
    sources = list(Source)
    tally = Tally()
    records = _AccessRecords()
    before = _rss_mb()
    with _quiet(records):
        for number in range(count):
            mutant = mutate(rng.choice(SEEDS), rng)
            source = rng.choice(sources)
            label = (
                f"#{number} {source.value} {mutant.method} {mutant.path[:60]!r} {mutant.changes}"
            )
            _send(handler, event_of(mutant, source), label, tally, records, LambdaContext)
    return tally, before, _rss_mb()


def _send(
    handler: Any,
    event: dict[str, Any],
    label: str,
    tally: Tally,
    records: _AccessRecords,
    context_class: Any,
) -> None:
    from tests.event_builder import response_body

    tally.requests += 1
    records.records.clear()
    started = time.monotonic()
    try:
        response = handler(event, context_class(timeout_ms=3_000))
    except Exception as exc:  # counting what escapes is the point
        tally.escapes.append(f"{label}: {type(exc).__name__}: {exc}")
        return
    if time.monotonic() - started > SLOW_SECONDS:
        tally.slow += 1
    tally.statuses[response["statusCode"]] += 1
    text = response_body(response).decode("utf-8", "replace")
    if any(leak in text for leak in LEAKS):
        tally.leaks.append(f"{label}: {text[:200]}")
    for record in records.records:
        faulty = record["grpcCode"] in (2, 13) or record["httpStatus"] == 500
        if faulty and record["error"] not in NOT_FAULTS:
            tally.faults.append(f"{label}: {record['httpStatus']} {record['error']}")


def table(tally: Tally, before: float, after: float, count: int, seed: int) -> str:
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
    rows = [
        ("requests", f"{tally.requests} (seed {seed})"),
        ("answers by status", statuses),
        ("transcoder 5xx", str(len(tally.faults))),
        ("exceptions escaping the handler", str(len(tally.escapes))),
        ("bodies with tracebacks or paths", str(len(tally.leaks))),
        (f"answers slower than {SLOW_SECONDS:g} s", str(tally.slow)),
        ("RSS before / after", f"{before:.0f} MB / {after:.0f} MB"),
    ]
    lines = ["| fuzz | result |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]
    for title, found in (
        ("faults", tally.faults),
        ("escapes", tally.escapes),
        ("leaks", tally.leaks),
    ):
        lines.extend(f"{title}: {item}" for item in found[:10])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./tasks fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=10_000, help="requests to send")
    parser.add_argument("--seed", type=int, default=1, help="seed of the campaign")
    args = parser.parse_args(argv)
    tally, before, after = run(args.count, args.seed)
    print(table(tally, before, after, args.count, args.seed))
    return 0 if tally.clean else 1


if __name__ == "__main__":
    sys.exit(main())
