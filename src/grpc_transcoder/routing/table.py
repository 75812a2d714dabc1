"""Routing: compile every HTTP rule into one table at cold start, then match requests against it.

Input: a `descriptors.Registry`. Output: a `RouteTable` whose `match` turns an HTTP method and a
raw (still percent-encoded) path into a `Match`: the route and its variable bindings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from grpc_transcoder.errors import (
    FieldViolation,
    MethodNotAllowedError,
    RequestError,
    RouteNotFoundError,
)
from grpc_transcoder.loading.registry import HttpRule, MethodInfo, Registry, RuleOrigin
from grpc_transcoder.routing import templates as path_template
from grpc_transcoder.routing.field_resolution import (
    FieldPathError,
    resolve_body,
    resolve_top_level,
    resolve_variable,
)
from grpc_transcoder.routing.percent_encoding import NOTHING, RESERVED, SLASH, canonical, decode
from grpc_transcoder.routing.templates import PathTemplate, TemplateError, Variable
from grpc_transcoder.routing.trie import RouteTrie, shape
from grpc_transcoder.settings import UrlUnescape

ANY_METHOD = "*"  # a `custom` rule of kind "*" answers every HTTP method
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 method token
_QUOTED_PATH_LIMIT = 200  # characters of a request path quoted in a 404 or 405 message


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP method and template bound to a gRPC method.

    Variable field paths, `body` and `response_body` hold proto field names, whatever names
    the rule used; `body` may be a dotted path to a field inside a field (`update.content`).
    """

    http_method: str
    template: PathTemplate
    method: MethodInfo
    body: str
    response_body: str
    origin: RuleOrigin

    def __str__(self) -> str:
        return f"{self.http_method} {self.template.text}"


FieldBinding = tuple[tuple[str, ...], str]


@dataclass(frozen=True, slots=True)
class Match:
    """A matched route and its path variables: (field path, percent-decoded value) pairs."""

    route: Route
    bindings: tuple[FieldBinding, ...]


@dataclass(frozen=True, slots=True)
class RouteProblem:
    """An HTTP rule that produced no route, and why."""

    method: str  # the gRPC method, package.Service/Method
    http_method: str
    template: str
    origin: RuleOrigin
    reason: str

    def __str__(self) -> str:
        rule = f"{self.http_method} {self.template!r} ({self.origin.value})"
        return f"{self.method}: {rule}: {self.reason}"


class RuleError(ValueError):
    """An HTTP rule cannot be routed; the message is the reason."""


def default_rule(method: MethodInfo) -> HttpRule:
    """`POST /<package>.<Service>/<Method>` with the whole body as the request."""
    return HttpRule("POST", method.grpc_path, "*", "", RuleOrigin.DEFAULT)


def routes_for(
    registry: Registry, *, default_routes: bool = True, default_routes_for_annotated: bool = True
) -> tuple[list[Route], list[RouteProblem]]:
    """Every route of the registry, and a problem for each rule that cannot be routed.

    A rule whose HTTP method, template and verb repeat an earlier rule's is a problem naming
    both gRPC methods; the earlier one keeps the route.
    """
    routes: list[Route] = []
    problems: list[RouteProblem] = []
    seen: dict[tuple[str, tuple[str, ...], str], Route] = {}
    for method, rule in _rules(registry, default_routes, default_routes_for_annotated):
        try:
            route = compile_rule(method, rule)
        except RuleError as exc:
            problems.append(_problem(method, rule, str(exc)))
            continue
        first = seen.setdefault(
            (route.http_method, shape(route.template), route.template.verb), route
        )
        if first is not route:
            problems.append(_problem(method, rule, _duplicate(first)))
            continue
        routes.append(route)
    return routes, problems


def _rules(
    registry: Registry, default_routes: bool, default_routes_for_annotated: bool
) -> Iterator[tuple[MethodInfo, HttpRule]]:
    for method in registry.methods.values():
        yield from ((method, rule) for rule in method.rules)
        if default_routes and (default_routes_for_annotated or not method.rules):
            yield method, default_rule(method)


def _problem(method: MethodInfo, rule: HttpRule, reason: str) -> RouteProblem:
    return RouteProblem(method.full_name, rule.method, rule.template, rule.origin, reason)


def _duplicate(first: Route) -> str:
    return (
        f"same HTTP method and template as {first} of {first.method.full_name}"
        f" ({first.origin.value}), which keeps the route"
    )


def compile_rule(method: MethodInfo, rule: HttpRule) -> Route:
    """The route of one rule; raises RuleError saying what is wrong with it."""
    if rule.method != ANY_METHOD and not _TOKEN.fullmatch(rule.method):
        raise RuleError(f"invalid HTTP method {rule.method!r} (a custom kind must be a token)")
    try:
        template = path_template.parse(rule.template)
    except TemplateError as exc:
        raise RuleError(f"invalid template: {exc}") from None
    try:
        body = _body(method, rule.body)
        response_body = (
            resolve_top_level(method.output, rule.response_body, role="response_body")
            if rule.response_body
            else ""
        )
    except FieldPathError as exc:
        raise RuleError(str(exc)) from None
    return Route(rule.method, _resolved(template, method), method, body, response_body, rule.origin)


def _body(method: MethodInfo, body: str) -> str:
    if body in ("", "*"):
        return body
    return resolve_body(method.input, body)


def _resolved(template: PathTemplate, method: MethodInfo) -> PathTemplate:
    """`template` with every variable's field path resolved against the request message."""
    variables = []
    for variable in template.variables:
        try:
            field_path = resolve_variable(method.input, variable.field_path)
        except FieldPathError as exc:
            raise RuleError(f"variable {{{variable.name}}}: {exc}") from None
        variables.append(Variable(field_path, variable.start, variable.end, variable.deep))
    paths = [v.field_path for v in variables]
    for field_path in paths:
        if paths.count(field_path) > 1:
            raise RuleError(f"field {'.'.join(field_path)!r} is bound by two variables")
    if not variables:
        return template
    return PathTemplate(
        template.text, template.segments, tuple(variables), template.verb, template.deep_index
    )


class RouteTable:
    """Every route, compiled once into a trie; `match` is the only per-request operation."""

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        base_path: str = "/",
        url_unescape: UrlUnescape = UrlUnescape.RESERVED,
        match_unregistered_verbs: bool = False,
    ) -> None:
        """Raises ValueError for two routes with one HTTP method, template shape and verb
        (`routes_for` never returns such routes). `base_path` is stripped before matching.

        `url_unescape` (TRANSCODER_URL_UNESCAPE) decides what a multi-segment variable keeps
        percent-encoded; `match_unregistered_verbs` (TRANSCODER_MATCH_UNREGISTERED_VERBS)
        takes any `:suffix` of the last segment as a verb, registered or not.
        """
        self._routes: tuple[Route, ...] = tuple(routes)
        self._keep = _KEPT[url_unescape]
        self._any_verb = match_unregistered_verbs
        self._trie: RouteTrie[Route] = RouteTrie(
            (shape(r.template), r.template.verb, r.http_method, r) for r in self._routes
        )
        self._methods = tuple(sorted({r.http_method for r in self._routes} - {ANY_METHOD}))
        self._base_path = base_path.rstrip("/")

    @property
    def routes(self) -> Sequence[Route]:
        return self._routes

    @property
    def trie(self) -> RouteTrie[Route]:
        return self._trie

    @property
    def base_path(self) -> str:
        """The prefix `match` strips, without a trailing '/' ("" for none)."""
        return self._base_path

    def match(self, http_method: str, path: str) -> Match:
        """The route for `http_method` and the raw `path`.

        Raises RouteNotFoundError (404) when no template matches the path, MethodNotAllowedError
        (405, with the methods that would match) when only other methods do, and RequestError
        (400) when a bound value is not UTF-8 once percent-decoded.
        """
        parts, verb = self._split(http_method, path)
        keys = [canonical(part) for part in parts]
        route = self._trie.find(keys, verb, _candidates(http_method))
        if route is None:
            raise self._no_route(http_method, path, keys, verb)
        return Match(route, _bindings(route.template, parts, self._keep))

    def allowed_methods(self, path: str) -> tuple[str, ...]:
        """The HTTP methods some route answers on the raw `path` (HEAD with GET), sorted;
        () when no route matches it. What a CORS preflight is told."""
        try:
            parts, verb = self._split(PREFLIGHT, path)
        except RouteNotFoundError:
            return ()
        keys = [canonical(part) for part in parts]
        if self._trie.find(keys, verb, (ANY_METHOD,)) is not None:
            return ANY_METHODS
        return self._allowed(keys, verb)

    def _allowed(self, keys: Sequence[str], verb: str) -> tuple[str, ...]:
        allowed = {m for m in self._methods if self._trie.find(keys, verb, (m,)) is not None}
        if "GET" in allowed:
            allowed.add("HEAD")
        return tuple(sorted(allowed))

    def _split(self, http_method: str, path: str) -> tuple[list[str], str]:
        """The raw segments and the verb of `path`, without the base path and trailing '/'."""
        if self._base_path:
            if path != self._base_path and not path.startswith(self._base_path + "/"):
                raise RouteNotFoundError(
                    f"no route for {http_method} {_quoted(path)}: outside the base path"
                    f" {self._base_path}"
                )
            path = path[len(self._base_path) :]
        body = path.removeprefix("/")
        if body.endswith("/"):
            # A trailing slash is insignificant, but it ends the verb: `/x:verb/` is not the
            # `:verb` route (the reference's rule); `x:verb` is then a segment's text.
            return _segments(body.rstrip("/")), ""
        verb = ""
        head, colon, tail = body.rpartition(":")
        if colon and tail and "/" not in tail and (self._any_verb or tail in self._trie.verbs):
            body, verb = head, tail
        return _segments(body), verb

    def _no_route(
        self, http_method: str, path: str, keys: Sequence[str], verb: str
    ) -> RouteNotFoundError | MethodNotAllowedError:
        allow = self._allowed(keys, verb)
        if not allow:
            return RouteNotFoundError(f"no route for {http_method} {_quoted(path)}")
        return MethodNotAllowedError(
            f"{http_method} is not allowed on {_quoted(path)}; use {', '.join(allow)}",
            allow=allow,
        )


PREFLIGHT = "OPTIONS"
# What a route of kind "*" (`custom: {kind: "*"}`) is said to answer.
ANY_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")

_KEPT = {
    UrlUnescape.RESERVED: RESERVED,
    UrlUnescape.EXCEPT_SLASH: SLASH,
    UrlUnescape.ALL: NOTHING,
}


def _segments(body: str) -> list[str]:
    return body.split("/") if body else []


def _candidates(http_method: str) -> tuple[str, ...]:
    # HEAD follows GET; a route of kind "*" answers whatever no route names explicitly.
    if http_method == "HEAD":
        return ("HEAD", "GET", ANY_METHOD)
    return (http_method, ANY_METHOD)


def _bindings(
    template: PathTemplate, parts: Sequence[str], kept: frozenset[str]
) -> tuple[FieldBinding, ...]:
    bindings: list[FieldBinding] = []
    for variable in template.variables:
        start, end = template.span(variable, len(parts))
        # A single segment is fully decoded; several keep `kept` (by default the reserved
        # characters, %2F among them) encoded, so that the value still tells its segments
        # apart (the reference's rule).
        keep = kept if variable.multi_segment else NOTHING
        try:
            value = "/".join(decode(part, keep=keep) for part in parts[start:end])
        except UnicodeDecodeError:
            raise _not_utf8(variable.name, "/".join(parts[start:end])) from None
        bindings.append((variable.field_path, value))
    return tuple(bindings)


def _not_utf8(field: str, raw: str) -> RequestError:
    reason = f"the path segment {_quoted(raw)} is not UTF-8 once percent-decoded"
    return RequestError(f"{field}: {reason}", violations=[FieldViolation(field, reason)])


def _quoted(path: str) -> str:
    if len(path) <= _QUOTED_PATH_LIMIT:
        return path
    return path[:_QUOTED_PATH_LIMIT] + "..."
