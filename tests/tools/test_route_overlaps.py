"""Route overlaps: which templates share a path, and which one precedence lets answer it."""

from __future__ import annotations

from itertools import combinations

import pytest
from grpc_transcoder_tools import example_backend, route_overlaps
from grpc_transcoder_tools.route_overlaps import overlaps, witness
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.loading.registry import MethodInfo, Registry
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.templates import parse
from grpc_transcoder.routing.trie import shape
from tests.conftest import LIBRARY_SET
from tests.routing.test_routing import table_of


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


_SEGMENTS = st.lists(st.sampled_from(["a", "b", "*", "**"]), max_size=4).filter(
    lambda s: "**" not in s or all(x in ("a", "b") for x in s[s.index("**") + 1 :])
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["GET", "POST", "*"]), _SEGMENTS, st.sampled_from(["", "v"])),
        max_size=8,
    )
)
def test_the_trie_walk_finds_exactly_the_pairs_a_brute_force_finds(
    rules: list[tuple[str, list[str], str]],
) -> None:
    method = _property_method()
    unique = {(m, "/" + "/".join(s) + (f":{v}" if v else "")) for m, s, v in rules}
    texts = [f"{m} {t}" for m, t in sorted(unique) if t != "/:v"]
    table = table_of(method, *texts)
    expected = {
        frozenset((str(one), str(other)))
        for one, other in combinations(table.routes, 2)
        if (one.http_method == other.http_method or "*" in (one.http_method, other.http_method))
        and one.template.verb == other.template.verb
        and witness(shape(one.template), shape(other.template)) is not None
    }
    assert {frozenset((str(o.first), str(o.second))) for o in overlaps(table)} == expected


_METHODS: list[MethodInfo] = []


def _property_method() -> MethodInfo:
    # Hypothesis forbids function-scoped fixtures; the example registry is loaded once here.
    if not _METHODS:
        registry = example_backend.load_registry(LIBRARY_SET)
        _METHODS.append(registry.methods["/library.v1.LibraryService/GetShelf"])
    return _METHODS[0]


def test_routes_that_never_meet_make_no_overlap(method: MethodInfo) -> None:
    one, other = table_of(method, "GET /a/b", "GET /a/c").routes
    assert route_overlaps._overlap(one, other) is None
    one, other = table_of(method, "GET /a/*", "POST /a/b").routes
    assert route_overlaps._overlap(one, other) is None
