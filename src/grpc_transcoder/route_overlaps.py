"""Route overlaps: pairs of routes that some request path matches both, for the route listing.

Input: a `RouteTable`. Output: `Overlap`s naming the route precedence picks (literal before
`*` before `**`) and an example path. Such overlaps are legal; listing them shows which rule
answers. Only tools call this: the Lambda never needs it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations, product

from grpc_transcoder.path_template import DEEP_WILDCARD, WILDCARD
from grpc_transcoder.route_trie import Shape, shape
from grpc_transcoder.routing import ANY_METHOD, Route, RouteTable

# Stands for any segment in an example path. No literal can equal it (templates reject '*'
# inside literals), so it never steers the lookup into a third route's literal.
ANY_SEGMENT = "*"


@dataclass(frozen=True, slots=True)
class Overlap:
    """`first` answers `example`, which `second` would match as well."""

    first: Route
    second: Route
    example: str


def overlaps(table: RouteTable) -> list[Overlap]:
    """Every pair of routes with a common path, for one HTTP method and verb.

    Compares the pairs that could meet (one verb and, without `**`, one number of segments);
    meant for tools, not for the cold start.
    """
    found = (_overlap(table, one, other) for one, other in _pairs(table.routes))
    return [overlap for overlap in found if overlap is not None]


def _pairs(routes: Sequence[Route]) -> Iterator[tuple[Route, Route]]:
    by_length: dict[tuple[str, int], list[Route]] = defaultdict(list)
    deep: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        template = route.template
        if template.deep_index is None:
            by_length[(template.verb, len(template.segments))].append(route)
        else:
            deep[template.verb].append(route)
    for (verb, _), group in by_length.items():
        yield from combinations(group, 2)
        yield from product(group, deep.get(verb, ()))
    for group in deep.values():
        yield from combinations(group, 2)


def _overlap(table: RouteTable, one: Route, other: Route) -> Overlap | None:
    if not _methods_meet(one.http_method, other.http_method):
        return None
    example = witness(shape(one.template), shape(other.template))
    if example is None:
        return None
    verb = f":{one.template.verb}" if one.template.verb else ""
    path = "/" + "/".join(example) + verb
    http_method = one.http_method if one.http_method != ANY_METHOD else other.http_method
    if table.match(http_method, table.base_path + path).route is other:
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
