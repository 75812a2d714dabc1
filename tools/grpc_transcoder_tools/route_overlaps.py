"""Route overlaps: pairs of routes that some request path matches both, for the route listing.

Input: a `RouteTable`. Output: `Overlap`s naming the route precedence picks (literal before
`*` before `**`) and an example path. Such overlaps are legal; listing them shows which rule
answers. Only tools call this: the Lambda never needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from grpc_transcoder.routing.table import ANY_METHOD, Route, RouteTable
from grpc_transcoder.routing.templates import DEEP_WILDCARD, WILDCARD
from grpc_transcoder.routing.trie import Node, Shape, shape

# Stands for any segment in an example path. No literal can equal it (templates reject '*'
# inside literals), so it never steers the lookup into a third route's literal.
ANY_SEGMENT = "*"


@dataclass(frozen=True, slots=True)
class Overlap:
    """`first` and `second` both match `example`; precedence tries `first` first."""

    first: Route
    second: Route
    example: str


def overlaps(table: RouteTable) -> list[Overlap]:
    """Every pair of routes with a common path, for one HTTP method and verb.

    Walks each route's template through the table's trie, so the cost follows the size of the
    trie parts the template can meet, not the square of the number of routes.
    """
    found = (_overlap(one, other) for one, other in _pairs(table))
    return [overlap for overlap in found if overlap is not None]


State = tuple[int, Node[Route], bool]  # position in the template shape, trie node, inside '**'


def _pairs(table: RouteTable) -> Iterator[tuple[Route, Route]]:
    seen: set[tuple[int, int]] = set()
    for route in table.routes:
        template = route.template
        for other in _meeting(shape(template), template.verb, table.trie.root):
            key = (min(id(route), id(other)), max(id(route), id(other)))
            if other is not route and key not in seen:
                seen.add(key)
                yield route, other


def _meeting(segments: Shape, verb: str, root: Node[Route]) -> list[Route]:
    """The routes with `verb` whose templates match some path `segments` matches."""
    found: dict[int, Route] = {}
    visited: set[tuple[int, int, bool]] = set()
    stack: list[State] = [(0, root, False)]
    while stack:
        index, node, deep = state = stack.pop()
        if (index, id(node), deep) in visited:
            continue
        visited.add((index, id(node), deep))
        if index == len(segments):
            found.update((id(r), r) for r in node.values.get(verb, {}).values())
        stack.extend(_moves(segments, state))
    return list(found.values())


def _moves(segments: Shape, state: State) -> Iterator[State]:
    """The states one step on: a segment taken by both sides, or a '**' taking nothing."""
    index, node, deep = state
    if node.deep is not None:
        yield index, node.deep, True  # the trie's '**' takes nothing (yet)
    if index == len(segments):
        return
    element = segments[index]
    if element == DEEP_WILDCARD:
        yield index + 1, node, deep  # the template's '**' takes nothing more
        yield from ((index, child, False) for child in _children(node, WILDCARD))
        return
    if deep:
        yield index + 1, node, True  # the trie's '**' takes this segment
    yield from ((index + 1, child, False) for child in _children(node, element))


def _children(node: Node[Route], element: str) -> Iterator[Node[Route]]:
    """The children reached by one segment that `element` (a literal or `*`) accepts."""
    if element == WILDCARD:
        yield from node.literals.values()
    elif (child := node.literals.get(element)) is not None:
        yield child
    if node.star is not None:
        yield node.star


def _overlap(one: Route, other: Route) -> Overlap | None:
    if not _methods_meet(one.http_method, other.http_method):
        return None
    example = witness(shape(one.template), shape(other.template))
    if example is None:
        return None
    verb = f":{one.template.verb}" if one.template.verb else ""
    path = "/" + "/".join(example) + verb
    http_method = one.http_method if one.http_method != ANY_METHOD else other.http_method
    # Precedence between these two alone: a third route may answer the example before both.
    if RouteTable((one, other)).match(http_method, path).route is other:
        one, other = other, one
    return Overlap(one, other, path)


def _methods_meet(one: str, other: str) -> bool:
    return one == other or ANY_METHOD in (one, other)


def witness(one: Shape, other: Shape) -> tuple[str, ...] | None:
    """A path (as segments) that both template shapes match, or None when none exists."""

    @cache
    def walk(i: int, j: int) -> tuple[str, ...] | None:
        if i == len(one) and j == len(other):
            return ()
        if i < len(one) and one[i] == DEEP_WILDCARD and (rest := walk(i + 1, j)) is not None:
            return rest
        if j < len(other) and other[j] == DEEP_WILDCARD and (rest := walk(i, j + 1)) is not None:
            return rest
        return _step(i, j)

    def _step(i: int, j: int) -> tuple[str, ...] | None:
        # One segment both sides accept; a '**' stays put while it takes it.
        if i == len(one) or j == len(other) or one[i] == other[j] == DEEP_WILDCARD:
            return None
        segment = _common(one[i], other[j])
        if segment is None:
            return None
        rest = walk(i + (one[i] != DEEP_WILDCARD), j + (other[j] != DEEP_WILDCARD))
        return None if rest is None else (segment, *rest)

    return walk(0, 0)


def _common(one: str, other: str) -> str | None:
    """A segment both elements accept: a literal, or `ANY_SEGMENT` for two wildcards."""
    wildcards = (WILDCARD, DEEP_WILDCARD)
    if one in wildcards:
        return ANY_SEGMENT if other in wildcards else other
    if other in wildcards or other == one:
        return one
    return None
