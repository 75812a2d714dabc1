"""Route trie: precedence, backtracking by HTTP method, and immutability, on plain strings."""

from __future__ import annotations

import dataclasses

import pytest

from grpc_transcoder.routing.templates import parse
from grpc_transcoder.routing.trie import RouteTrie, shape


def _trie(*entries: tuple[str, str]) -> RouteTrie[str]:
    """A trie of (HTTP method, template) whose values are "METHOD template"."""
    items = []
    for method, text in entries:
        template = parse(text)
        items.append((shape(template), template.verb, method, f"{method} {text}"))
    return RouteTrie(items)


def _find(trie: RouteTrie[str], path: str, method: str = "GET", verb: str = "") -> str | None:
    parts = path.strip("/").split("/") if path.strip("/") else []
    return trie.find(parts, verb, (method, "*"))


WILDCARDS = _trie(
    ("GET", "/a/**"),
    ("GET", "/b/*"),
    ("GET", "/c/*/d/**"),
    ("GET", "/c/*/d/e"),
    ("GET", "/c/f/d/e"),
    ("GET", "/"),
)


@pytest.mark.parametrize(
    ("path", "found"),
    [
        pytest.param("/a/b", "GET /a/**", id="deep-one"),
        pytest.param("/a/b/c", "GET /a/**", id="deep-two"),
        pytest.param("/a", "GET /a/**", id="deep-none"),
        pytest.param("/b/c", "GET /b/*", id="star"),
        pytest.param("/b/c/d", None, id="star-takes-one-segment"),
        pytest.param("/c/u/d/v", "GET /c/*/d/**", id="star-then-deep"),
        pytest.param("/c/v/d/w/x", "GET /c/*/d/**", id="star-then-deep-two"),
        pytest.param("/c/x/y/d/z", None, id="star-is-not-deep"),
        pytest.param("/c/x/d/e", "GET /c/*/d/e", id="literal-beats-deep"),
        pytest.param("/c/f/d/e", "GET /c/f/d/e", id="literal-beats-star"),
        pytest.param("/", "GET /", id="root"),
        pytest.param("/d", None, id="unknown"),
    ],
)
def test_precedence_literal_then_star_then_deep(path: str, found: str | None) -> None:
    # The reference's WildCardMatches test.
    assert _find(WILDCARDS, path) == found


def test_a_branch_without_the_method_falls_back_to_the_next_precedence() -> None:
    trie = _trie(("POST", "/shelves/special"), ("GET", "/shelves/*"))
    assert _find(trie, "/shelves/special", "GET") == "GET /shelves/*"
    assert _find(trie, "/shelves/special", "POST") == "POST /shelves/special"
    assert _find(trie, "/shelves/other", "POST") is None


def test_a_method_beats_any_method_on_the_same_template() -> None:
    trie = _trie(("*", "/ping"), ("GET", "/ping"))
    assert _find(trie, "/ping", "GET") == "GET /ping"
    assert _find(trie, "/ping", "DELETE") == "* /ping"


def test_deep_wildcard_tries_the_literals_after_it_at_every_position() -> None:
    trie = _trie(("GET", "/a/**/b/c"), ("GET", "/a/**"))
    assert _find(trie, "/a/b/b/c") == "GET /a/**/b/c"
    assert _find(trie, "/a/b/c") == "GET /a/**/b/c"  # '**' takes zero segments
    assert _find(trie, "/a/b/c/d") == "GET /a/**"


def test_verbs_are_part_of_the_key() -> None:
    trie = _trie(("POST", "/books/*:move"), ("POST", "/books/*"))
    assert trie.verbs == {"move"}
    assert trie.find(["books", "x"], "move", ("POST",)) == "POST /books/*:move"
    assert trie.find(["books", "x"], "", ("POST",)) == "POST /books/*"
    assert trie.find(["books", "x"], "copy", ("POST",)) is None


def test_equivalent_templates_share_a_shape() -> None:
    assert shape(parse("/v1/{name=shelves/*}")) == shape(parse("/v1/shelves/{id}"))
    assert shape(parse("/v1/%7Eme")) == shape(parse("/v1/~me"))


def test_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate route: GET /v1/shelves/\\*"):
        _trie(("GET", "/v1/{name=shelves/*}"), ("GET", "/v1/shelves/{id}"))


def test_long_paths_do_not_recurse_per_segment() -> None:
    trie = _trie(("GET", "/**/end"))
    parts = ["x"] * 20_000 + ["end"]
    assert trie.find(parts, "", ("GET",)) == "GET /**/end"
    assert trie.find(["x"] * 20_000, "", ("GET",)) is None


def test_nodes_are_immutable() -> None:
    trie = _trie(("GET", "/a/b"))
    root = trie._root
    with pytest.raises(dataclasses.FrozenInstanceError):
        root.star = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        root.literals["x"] = root  # type: ignore[index]
