"""Routing: compile every HTTP rule into one table at cold start, then match requests against it.

Input: a `descriptors.Registry`. Output: a `RouteTable` whose `match` turns an HTTP method and
path into a `Match` (the route and its variable bindings), or raises 404/405 errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from grpc_transcoder import path_template
from grpc_transcoder.descriptors import HttpRule, MethodInfo, Registry, RuleOrigin
from grpc_transcoder.errors import MethodNotAllowedError, RouteNotFoundError
from grpc_transcoder.path_template import PathTemplate, TemplateError


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    template: PathTemplate
    method: MethodInfo
    body: str
    response_body: str
    origin: RuleOrigin


FieldBinding = tuple[tuple[str, ...], str]


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    bindings: tuple[FieldBinding, ...]


def default_rule(method: MethodInfo) -> HttpRule:
    """`POST /<package>.<Service>/<Method>` with the whole body as the request."""
    return HttpRule("POST", method.grpc_path, "*", "", RuleOrigin.DEFAULT)


def routes_for(
    registry: Registry, *, default_routes: bool = True, default_routes_for_annotated: bool = True
) -> tuple[list[Route], list[str]]:
    """Every route of the registry, and a problem line for each rule that cannot be routed."""
    routes: list[Route] = []
    problems: list[str] = []
    for method in registry.methods.values():
        rules = list(method.rules)
        if default_routes and (default_routes_for_annotated or not rules):
            rules.append(default_rule(method))
        for rule in rules:
            try:
                template = (
                    _parse_default(rule)
                    if rule.origin is RuleOrigin.DEFAULT
                    else path_template.parse(rule.template)
                )
            except TemplateError as exc:
                problems.append(f"{method.full_name}: template {rule.template!r}: {exc}")
                continue
            routes.append(
                Route(rule.method, template, method, rule.body, rule.response_body, rule.origin)
            )
    return routes, problems


def _parse_default(rule: HttpRule) -> PathTemplate:
    # Service names contain dots, which the template grammar allows in literals.
    return PathTemplate(rule.template, tuple(rule.template[1:].split("/")), (), "")


class RouteTable:
    """An immutable table of routes (a simple scan; replaced by a trie in the routing issue)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes: tuple[Route, ...] = tuple(routes)

    @property
    def routes(self) -> Sequence[Route]:
        return self._routes

    def match(self, http_method: str, path: str) -> Match:
        segments = path.strip("/").split("/") if path.strip("/") else []
        allowed: list[str] = []
        for route in self._routes:
            bindings = _match_template(route.template, segments)
            if bindings is None:
                continue
            if route.http_method in (http_method, "*"):
                return Match(route, bindings)
            allowed.append(route.http_method)
        if allowed:
            raise MethodNotAllowedError(
                f"{http_method} is not allowed on {path}", allow=sorted(set(allowed))
            )
        raise RouteNotFoundError(f"no route for {http_method} {path}")


def _match_template(template: PathTemplate, segments: list[str]) -> tuple[FieldBinding, ...] | None:
    if template.verb:
        if not segments or not segments[-1].endswith(":" + template.verb):
            return None
        segments = [*segments[:-1], segments[-1][: -len(template.verb) - 1]]
    if len(segments) != len(template.segments):
        return None
    for pattern, segment in zip(template.segments, segments, strict=True):
        if pattern != "*" and pattern != unquote(segment):
            return None
    return tuple(
        (v.field_path, unquote("/".join(segments[v.start : v.end]))) for v in template.variables
    )
