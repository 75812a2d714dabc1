"""Route overlaps: which templates share a path, and which one precedence lets answer it."""

from __future__ import annotations

import pytest

from grpc_transcoder import routing
from grpc_transcoder.descriptors import MethodInfo, Registry
from grpc_transcoder.path_template import parse
from grpc_transcoder.route_overlaps import overlaps, witness
from grpc_transcoder.route_trie import shape
from tests.test_routing import table_of


@pytest.fixture(scope="module")
def method(registry: Registry) -> MethodInfo:
    return registry.methods["/library.v1.LibraryService/GetShelf"]


@pytest.mark.parametrize(
    ("one", "other", "path"),
    [
        pytest.param("/a/b", "/a/*", ("a", "b"), id="literal-and-star"),
        pytest.param("/a/*", "/*/b", ("a", "b"), id="stars-crossed"),
        pytest.param("/a/*", "/a/*", ("a", "*"), id="same"),
        pytest.param("/a/**", "/a", ("a",), id="deep-takes-nothing"),
        pytest.param("/**/c", "/a/*/c", ("a", "*", "c"), id="deep-takes-two"),
        pytest.param("/a/**/c", "/**/b/c", ("a", "b", "c"), id="two-deeps"),
        pytest.param("/a/b", "/a/c", None, id="different-literals"),
        pytest.param("/a/*", "/a/*/b", None, id="different-lengths"),
        pytest.param("/a/**/c", "/a/**/d", None, id="different-suffixes"),
        pytest.param("/a/**", "/b/**", None, id="different-prefixes"),
    ],
)
def test_witness(one: str, other: str, path: tuple[str, ...] | None) -> None:
    assert witness(shape(parse(one)), shape(parse(other))) == path
    found = witness(shape(parse(other)), shape(parse(one)))
    assert (found is None) == (path is None)


def test_overlaps_name_the_route_that_answers(method: MethodInfo) -> None:
    table = table_of(
        method,
        "GET /v1/{name=shelves/*}",
        "GET /v1/shelves/special",
        "POST /v1/shelves/special",
        "GET /v1/{x=**}",
        "* /v1/ping",
        "GET /v1/ping",
        "GET /v2/{a}/b",
        "GET /v2/a/{b}",
        base_path="/api",
    )
    found = {(str(o.first), str(o.second), o.example) for o in overlaps(table)}
    assert found == {
        ("GET /v1/shelves/special", "GET /v1/{name=shelves/*}", "/v1/shelves/special"),
        ("GET /v1/{name=shelves/*}", "GET /v1/{x=**}", "/v1/shelves/*"),
        ("GET /v1/shelves/special", "GET /v1/{x=**}", "/v1/shelves/special"),
        ("GET /v1/ping", "GET /v1/{x=**}", "/v1/ping"),
        ("* /v1/ping", "GET /v1/{x=**}", "/v1/ping"),
        ("GET /v1/ping", "* /v1/ping", "/v1/ping"),
        ("GET /v2/a/{b}", "GET /v2/{a}/b", "/v2/a/b"),
    }


def test_the_example_api_has_no_overlaps(registry: Registry) -> None:
    routes, _ = routing.routes_for(registry)
    assert overlaps(routing.RouteTable(routes)) == []
