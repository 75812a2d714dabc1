"""Hostile names: no cache keyed by client input grows past its bound.

Client-chosen names (Any type URLs, pass-through service and method names, query parameter
names, field paths) go through the real handler, more of them than any cache holds, and every
cache they touch is checked, as is that no metric dimension takes a client-chosen value.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.calling import backends, channels
from grpc_transcoder.decoding import query_string
from grpc_transcoder.decoding.field_plans import MAX_CACHED_PATHS
from grpc_transcoder.edge.adapter import LambdaAdapter
from grpc_transcoder.hooks import table as hook_table
from grpc_transcoder.loading.state import State
from grpc_transcoder.settings import Passthrough
from tests.conftest import Handler
from tests.event_builder import Source, build

NAMES = 10_000
THROUGH_THE_HANDLER = 2_000  # past every cap (1,024 names); each is a real gRPC call


def _context() -> LambdaContext:
    return LambdaContext(timeout_ms=10_000)


PROTOBUF = [("content-type", "application/x-protobuf")]


def _transcoder(handler: Handler) -> State:
    assert isinstance(handler, LambdaAdapter)
    return handler.runtime.current()


def test_any_type_urls_are_cached_by_type_name(library_handler: Handler) -> None:
    for i in range(THROUGH_THE_HANDLER // 10):
        body = {"wAny": {"@type": f"x{i}.example/library.v1.Shelf", "theme": "t"}}
        event = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", body=orjson.dumps(body))
        assert library_handler(event, _context())["statusCode"] == 200
    types = _transcoder(library_handler).codec.types
    for i in range(NAMES):
        assert types.find(f"y{i}.example/library.v1.Book") is not None
        assert types.find(f"y{i}.example/library.v1.NoSuchType{i}") is None
    assert len(types) == 2


@contextmanager
def _metrics() -> Iterator[io.StringIO]:
    captured, previous = io.StringIO(), sys.stdout
    sys.stdout = captured
    try:
        yield captured
    finally:
        sys.stdout = previous


def test_pass_through_of_unknown_services_keeps_bounded_state(
    make_library_handler: Callable[..., Handler],
) -> None:
    handler = make_library_handler(passthrough=Passthrough.ALL)
    with _metrics() as records:
        for i in range(THROUGH_THE_HANDLER):
            path = f"/evil{i}.Service/Method{i}"
            event = build(Source.HTTP_API, "POST", path, headers=PROTOBUF, body=b"")
            assert handler(event, _context())["statusCode"] == 501  # backend: UNIMPLEMENTED
    transcoder = _transcoder(handler)
    assert transcoder.calls.backends.patterns.cached() <= backends.MAX_CACHED_SERVICES
    assert transcoder.calls.deadlines.maximum.cached() <= backends.MAX_CACHED_SERVICES
    assert isinstance(handler, LambdaAdapter)
    (target,) = handler.runtime.channels.open_targets
    connection = handler.runtime.channels.get(target, transcoder.calls.channels)
    assert connection.cached_methods <= channels.MAX_CACHED_METHODS
    dimensions = {orjson.loads(line)["GrpcMethod"] for line in records.getvalue().splitlines()}
    assert dimensions == {"(unknown)"}


def test_hooks_keep_bounded_state_under_client_chosen_names(
    make_library_handler: Callable[..., Handler],
) -> None:
    handler = make_library_handler(
        passthrough=Passthrough.ALL, hooks="tests.hooks.catch_all", metrics=False
    )
    for i in range(THROUGH_THE_HANDLER):
        event = build(Source.HTTP_API, "POST", f"/e{i}.S/M", headers=PROTOBUF, body=b"")
        assert handler(event, _context())["statusCode"] == 501  # refused: hooks cannot read it
    assert _transcoder(handler).hooks.cached() <= hook_table.MAX_CACHED_METHODS


def test_parameter_names_and_field_paths_are_cached_only_when_short(
    library_handler: Handler,
) -> None:
    query_string._parse_cached.cache_clear()
    for i in range(100):
        query: list[tuple[str, Any]] = [(f"p{i}", "1"), ("x" * 200 + str(i), "1")]
        library_handler(build(Source.HTTP_API, "GET", "/v1/shelves", query=query), _context())
    assert query_string._parse_cached.cache_info().currsize == 100  # the short names only
    transcoder = _transcoder(library_handler)
    plans = transcoder.decoder.plans
    cached = plans.cached_paths()
    for depth in (1, *range(10, 60)):  # paths into a recursive type, resolved then refused
        path = ".".join(["fNested", "child"] * depth) + ".fInt32"
        event = build(Source.HTTP_API, "POST", "/v1/debug/kinds:echo", query=[(path, "1")])
        assert library_handler(event, _context())["statusCode"] == 400
    assert plans.cached_paths() == cached + 1  # the short one only
    assert cached <= MAX_CACHED_PATHS
