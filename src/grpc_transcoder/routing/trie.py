"""Route trie: templates compiled once into an immutable tree, then walked segment by segment.

Input: entries of (template shape, verb, HTTP method, value). Output: a `RouteTrie` whose `find`
costs time in proportion to the path, not to the number of routes. Precedence is the
reference's: at each segment a literal is tried before `*`, and `*` before `**`, backtracking
when a branch has no value for the HTTP method.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

from grpc_transcoder.routing.percent_encoding import canonical
from grpc_transcoder.routing.templates import DEEP_WILDCARD, WILDCARD, PathTemplate

T = TypeVar("T")

Shape = tuple[str, ...]
Entry = tuple[Shape, str, str, T]  # shape, verb, HTTP method, value


def shape(template: PathTemplate) -> Shape:
    """The key under which a template is stored: canonical literals, `*` and `**`.

    Two templates with one shape and one verb match exactly the same paths.
    """
    return tuple(s if s in (WILDCARD, DEEP_WILDCARD) else canonical(s) for s in template.segments)


@dataclass(frozen=True, slots=True)
class Node(Generic[T]):
    """One trie node; `values` maps a verb, then an HTTP method (or `*`), to a value."""

    literals: Mapping[str, Node[T]]
    star: Node[T] | None
    deep: Node[T] | None
    values: Mapping[str, Mapping[str, T]]

    def value(self, verb: str, methods: Sequence[str]) -> T | None:
        """The value of the first of `methods` registered here with `verb`."""
        by_method = self.values.get(verb)
        if by_method is None:
            return None
        for method in methods:
            found = by_method.get(method)
            if found is not None:
                return found
        return None


class RouteTrie(Generic[T]):
    """An immutable trie of route values; built from all entries at once."""

    def __init__(self, entries: Iterable[Entry[T]]) -> None:
        """Raises ValueError when two entries share shape, verb and HTTP method."""
        root: _Builder[T] = _Builder()
        verbs: set[str] = set()
        for segments, verb, method, value in entries:
            root.insert(segments, verb, method, value)
            verbs.add(verb)
        self._root = root.freeze()
        self.verbs: frozenset[str] = frozenset(verbs - {""})

    @property
    def root(self) -> Node[T]:
        return self._root

    def find(self, parts: Sequence[str], verb: str, methods: Sequence[str]) -> T | None:
        """The value for path segments `parts` (canonical form), `verb` and the first of
        `methods` that some matching template registered; None when there is none."""
        return _find(self._root, parts, 0, verb, methods)


def _find(
    node: Node[T], parts: Sequence[str], index: int, verb: str, methods: Sequence[str]
) -> T | None:
    found: T | None = None
    if index == len(parts):
        found = node.value(verb, methods)
    else:
        child = node.literals.get(parts[index])
        if child is not None:
            found = _find(child, parts, index + 1, verb, methods)
        if found is None and node.star is not None:
            found = _find(node.star, parts, index + 1, verb, methods)
    if found is None and node.deep is not None:
        found = _find_deep(node.deep, parts, index, verb, methods)
    return found


def _find_deep(
    node: Node[T], parts: Sequence[str], index: int, verb: str, methods: Sequence[str]
) -> T | None:
    # '**' takes zero or more segments (google/api/http.proto; the reference wants one or more
    # unless the path ends there). Only literals follow it, tried at each position in turn;
    # a loop rather than recursion keeps long paths off the Python stack.
    for position in range(index, len(parts)):
        child = node.literals.get(parts[position])
        if child is not None:
            found = _find(child, parts, position + 1, verb, methods)
            if found is not None:
                return found
    return node.value(verb, methods)


class _Builder(Generic[T]):
    """The mutable node used while inserting; frozen into `Node`s once complete."""

    def __init__(self) -> None:
        self.literals: dict[str, _Builder[T]] = {}
        self.star: _Builder[T] | None = None
        self.deep: _Builder[T] | None = None
        self.values: dict[str, dict[str, T]] = {}

    def insert(self, segments: Shape, verb: str, method: str, value: T) -> None:
        node = self
        for segment in segments:
            node = node.child(segment)
        slot = node.values.setdefault(verb, {})
        if method in slot:
            raise ValueError(f"duplicate route: {method} /{'/'.join(segments)} verb {verb!r}")
        slot[method] = value

    def child(self, segment: str) -> _Builder[T]:
        if segment == WILDCARD:
            self.star = self.star or _Builder()
            return self.star
        if segment == DEEP_WILDCARD:
            self.deep = self.deep or _Builder()
            return self.deep
        return self.literals.setdefault(segment, _Builder())

    def freeze(self) -> Node[T]:
        return Node(
            literals=MappingProxyType({k: v.freeze() for k, v in self.literals.items()}),
            star=self.star.freeze() if self.star else None,
            deep=self.deep.freeze() if self.deep else None,
            values=MappingProxyType(
                {verb: MappingProxyType(dict(by_method)) for verb, by_method in self.values.items()}
            ),
        )
