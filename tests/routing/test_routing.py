"""Routing: rules compiled and validated at load, then matched as the reference matches them.

Matching cases come from grpc-httpjson-transcoding's path_matcher tests; validation runs on a
.proto compiled at test time with one method per rule form or mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.errors import MethodNotAllowedError, RequestError, RouteNotFoundError
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import MethodInfo, Registry, RuleOrigin
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing import templates as path_template
from grpc_transcoder.routing.table import Match, Route, RouteProblem, RouteTable
from grpc_transcoder.settings import UrlUnescape
from tests.support import compile_set

# -- matching, on routes built straight from templates --------------------------------------


@pytest.fixture(scope="module")
def method(registry: Registry) -> MethodInfo:
    return registry.methods["/library.v1.LibraryService/GetShelf"]


def table_of(method: MethodInfo, *rules: str, base_path: str = "/", **options: Any) -> RouteTable:
    """A table of "HTTP-METHOD template" rules, every one bound to `method`."""
    routes = []
    for rule in rules:
        http_method, text = rule.split(" ", 1)
        template = path_template.parse(text)
        routes.append(Route(http_method, template, method, "", "", RuleOrigin.ANNOTATION))
    return RouteTable(routes, base_path=base_path, **options)


def matched(table: RouteTable, http_method: str, path: str) -> tuple[str, dict[str, str]]:
    """The matched rule as "METHOD template" and its bindings by dotted field path."""
    match = table.match(http_method, path)
    return str(match.route), {".".join(f): v for f, v in match.bindings}


VARIABLE_RULES = (
    "GET /a/{x}/c/d/e",
    "GET /{x=a/*}/b/{y=*}/c",
    "GET /a/{x=b/*}/{y=d/**}",
    "GET /alpha/{x=*}/beta/{y=**}/gamma",
    "GET /{x=*}/a",
    "GET /{x=**}/a/b",
    "GET /a/b/{x=*}",
    "GET /a/b/c/{x=**}",
    "GET /{x=*}/d/e/f/{y=**}",
)


@pytest.mark.parametrize(
    ("path", "rule", "bindings"),
    [
        pytest.param("/a/book/c/d/e", "GET /a/{x}/c/d/e", {"x": "book"}, id="single"),
        pytest.param(
            "/a/hello/b/world/c",
            "GET /{x=a/*}/b/{y=*}/c",
            {"x": "a/hello", "y": "world"},
            id="two-segment-and-single",
        ),
        pytest.param(
            "/a/b/zoo/d/animal/tiger",
            "GET /a/{x=b/*}/{y=d/**}",
            {"x": "b/zoo", "y": "d/animal/tiger"},
            id="deep-variable-last",
        ),
        pytest.param(
            "/alpha/dog/beta/eat/bones/gamma",
            "GET /alpha/{x=*}/beta/{y=**}/gamma",
            {"x": "dog", "y": "eat/bones"},
            id="deep-variable-then-literal",
        ),
        pytest.param("/foo/a", "GET /{x=*}/a", {"x": "foo"}, id="star-first"),
        pytest.param("/foo/bar/a/b", "GET /{x=**}/a/b", {"x": "foo/bar"}, id="deep-first"),
        pytest.param("/a/b/foo", "GET /a/b/{x=*}", {"x": "foo"}, id="star-last"),
        pytest.param("/a/b/c/foo/bar/baz", "GET /a/b/c/{x=**}", {"x": "foo/bar/baz"}, id="deep"),
        pytest.param(
            "/foo/d/e/f/bar/baz",
            "GET /{x=*}/d/e/f/{y=**}",
            {"x": "foo", "y": "bar/baz"},
            id="star-and-deep",
        ),
    ],
)
def test_variable_bindings(
    method: MethodInfo, path: str, rule: str, bindings: dict[str, str]
) -> None:
    assert matched(table_of(method, *VARIABLE_RULES), "GET", path) == (rule, bindings)


SUFFIX_RULES = (
    "GET /a/{x=b/**}",
    "GET /a/{x=b/**}/z",
    "GET /a/{x=b/**}/y/z",
    "GET /a/{x=b/**}:verb",
    "GET /a/{x=**}",
    "GET /c/{x=*}/{y=d/**}/e",
    "GET /c/{x=*}/{y=d/**}/e:verb",
    "GET /f/{x=*}/{y=**}/g",
    "GET /f/{x=*}/{y=**}/g:verb",
    "GET /a/{x=b/*/y/z/**}/foo",
    "GET /a/{x=b/*/**/y/z}/foo",
)


@pytest.mark.parametrize(
    ("path", "rule", "bindings"),
    [
        pytest.param("/a/b/hello/world/c", "GET /a/{x=b/**}", {"x": "b/hello/world/c"}, id="deep"),
        pytest.param("/a/b/world/c/z", "GET /a/{x=b/**}/z", {"x": "b/world/c"}, id="one-suffix"),
        pytest.param(
            "/a/b/world/c/y/z", "GET /a/{x=b/**}/y/z", {"x": "b/world/c"}, id="two-suffixes"
        ),
        pytest.param(
            "/a/b/world/c:verb", "GET /a/{x=b/**}:verb", {"x": "b/world/c"}, id="deep-verb"
        ),
        pytest.param(
            "/a/hello/b/world/c", "GET /a/{x=**}", {"x": "hello/b/world/c"}, id="literal-first"
        ),
        pytest.param(
            "/c/hello/d/esp/world/e",
            "GET /c/{x=*}/{y=d/**}/e",
            {"x": "hello", "y": "d/esp/world"},
            id="deep-between",
        ),
        pytest.param(
            "/c/hola/d/esp/mundo/e:verb",
            "GET /c/{x=*}/{y=d/**}/e:verb",
            {"x": "hola", "y": "d/esp/mundo"},
            id="deep-between-verb",
        ),
        pytest.param(
            "/f/foo/bar/baz/g",
            "GET /f/{x=*}/{y=**}/g",
            {"x": "foo", "y": "bar/baz"},
            id="star-deep-literal",
        ),
        pytest.param(
            "/f/foo/bar/baz/g:verb",
            "GET /f/{x=*}/{y=**}/g:verb",
            {"x": "foo", "y": "bar/baz"},
            id="star-deep-literal-verb",
        ),
        pytest.param(
            "/a/b/foo/y/z/bar/baz/foo",
            "GET /a/{x=b/*/y/z/**}/foo",
            {"x": "b/foo/y/z/bar/baz"},
            id="literals-before-deep-in-variable",
        ),
        pytest.param(
            "/a/b/foo/bar/baz/y/z/foo",
            "GET /a/{x=b/*/**/y/z}/foo",
            {"x": "b/foo/bar/baz/y/z"},
            id="literals-after-deep-in-variable",
        ),
    ],
)
def test_constant_suffixes_after_deep_wildcards(
    method: MethodInfo, path: str, rule: str, bindings: dict[str, str]
) -> None:
    assert matched(table_of(method, *SUFFIX_RULES), "GET", path) == (rule, bindings)


VERB_RULES = ("GET /person", "GET /person/{id=*}", "GET /{x=**}:verb", "GET /some/const:verb")


@pytest.mark.parametrize(
    ("path", "rule", "bindings"),
    [
        pytest.param("/person:verb", "GET /{x=**}:verb", {"x": "person"}, id="verb"),
        pytest.param(
            "/person/jason:verb", "GET /{x=**}:verb", {"x": "person/jason"}, id="verb-two"
        ),
        pytest.param("/animal/cat:verb", "GET /{x=**}:verb", {"x": "animal/cat"}, id="verb-other"),
        pytest.param("/person", "GET /person", {}, id="no-verb"),
        pytest.param("/person/jason", "GET /person/{id=*}", {"id": "jason"}, id="no-verb-var"),
        pytest.param(
            "/person/jason:other",
            "GET /person/{id=*}",
            {"id": "jason:other"},
            id="unregistered-verb-stays-in-the-segment",
        ),
        pytest.param("/some/const:verb", "GET /some/const:verb", {}, id="literal-verb"),
        pytest.param(
            "/some:verb/const:verb",
            "GET /{x=**}:verb",
            {"x": "some:verb/const"},
            id="only-the-last-colon-is-a-verb",
        ),
        pytest.param(
            "/person/jason:verb/",
            "GET /person/{id=*}",
            {"id": "jason:verb"},
            id="a-trailing-slash-ends-the-verb",  # the reference's rule: `x:verb/` is text
        ),
    ],
)
def test_verbs_split_off_only_when_registered(
    method: MethodInfo, path: str, rule: str, bindings: dict[str, str]
) -> None:
    assert matched(table_of(method, *VERB_RULES), "GET", path) == (rule, bindings)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/animal", id="no-route"),
        pytest.param("/person:other", id="unregistered-verb-in-literal"),
        pytest.param("/person/jason/x", id="over-specified"),
        pytest.param("/persons", id="literal-prefix"),
    ],
)
def test_paths_without_a_template_are_not_found(method: MethodInfo, path: str) -> None:
    with pytest.raises(RouteNotFoundError, match="no route for GET "):
        table_of(method, *VERB_RULES).match("GET", path)


def test_a_verb_followed_by_a_slash_is_not_the_verb_route(method: MethodInfo) -> None:
    table = table_of(method, "GET /some/const:verb", "GET /some/{x}")
    assert matched(table, "GET", "/some/const:verb") == ("GET /some/const:verb", {})
    assert matched(table, "GET", "/some/const:verb/") == ("GET /some/{x}", {"x": "const:verb"})
    with pytest.raises(RouteNotFoundError):
        table_of(method, "GET /some/const:verb").match("GET", "/some/const:verb/")


@pytest.mark.parametrize(
    ("path", "unregistered", "expected"),
    [
        pytest.param("/person/jason:other", False, ("GET /person/{id=*}", {"id": "jason:other"}), id="off-text"),
        pytest.param("/person/jason:other", True, None, id="on-verb-no-route"),
        pytest.param("/person/jason:verb", True, ("GET /{x=**}:verb", {"x": "person/jason"}), id="on-registered"),
        pytest.param("/person/jason", True, ("GET /person/{id=*}", {"id": "jason"}), id="on-no-colon"),
    ],
)  # fmt: skip
def test_unregistered_verbs_match_only_when_asked(
    method: MethodInfo, path: str, unregistered: bool, expected: Any
) -> None:
    table = table_of(method, *VERB_RULES, match_unregistered_verbs=unregistered)
    if expected is None:
        with pytest.raises(RouteNotFoundError):
            table.match("GET", path)
    else:
        assert matched(table, "GET", path) == expected


@pytest.mark.parametrize(
    ("unescape", "value"),
    [
        pytest.param(UrlUnescape.RESERVED, "a%2Fb%23c d", id="reserved"),
        pytest.param(UrlUnescape.EXCEPT_SLASH, "a%2Fb#c d", id="except-slash"),
        pytest.param(UrlUnescape.ALL, "a/b#c d", id="all"),
    ],
)
def test_url_unescape_decides_what_a_multi_segment_variable_keeps(
    method: MethodInfo, unescape: UrlUnescape, value: str
) -> None:
    table = table_of(method, "GET /v/{x=**}", "GET /s/{y}", url_unescape=unescape)
    assert matched(table, "GET", "/v/a%2Fb%23c%20d") == ("GET /v/{x=**}", {"x": value})
    # A single segment is always fully decoded.
    assert matched(table, "GET", "/s/a%2Fb%23c") == ("GET /s/{y}", {"y": "a/b#c"})


@pytest.mark.parametrize(
    ("rule", "path", "bindings"),
    [
        pytest.param("GET /a/{x}/c", "/a/p%20q%2Fr/c", {"x": "p q/r"}, id="single-fully-decoded"),
        pytest.param(
            "GET /a/{x=p/*/q/*}/c",
            "/a/p/foo%20foo/q/bar%2Fbar/c",
            {"x": "p/foo foo/q/bar%2Fbar"},
            id="multi-keeps-slash",
        ),
        pytest.param(
            "GET /a/{x=**}/c",
            "/a/p/foo%20foo/q/bar%2Fbar/c",
            {"x": "p/foo foo/q/bar%2Fbar"},
            id="deep-keeps-slash",
        ),
        pytest.param(
            "GET /a/{x=*}/{y=**}/c",
            "/a/%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D/%2F%3A/c",
            {"x": "!#$&'()*+,/:;=?@[]", "y": "%2F%3A"},
            id="every-reserved-character",
        ),
        pytest.param("GET /{x=**}", "/a%2Fb", {"x": "a%2Fb"}, id="deep-on-one-segment-is-multi"),
        pytest.param("GET /v1/{x}", "/v1/caf%C3%A9", {"x": "caf\u00e9"}, id="utf-8"),
        pytest.param("GET /v1/{x}", "/v1/a:b", {"x": "a:b"}, id="colon-in-value"),
        pytest.param("GET /v1/books/{x}", "/v1/%62ooks/1", {"x": "1"}, id="unreserved-in-literal"),
        pytest.param("GET /v1/{x}/c", "/v1//c", {"x": ""}, id="empty-segment-binds-empty"),
    ],
)
def test_percent_decoding(
    method: MethodInfo, rule: str, path: str, bindings: dict[str, str]
) -> None:
    assert matched(table_of(method, rule), "GET", path) == (rule, bindings)


def test_reserved_escapes_never_match_a_literal(method: MethodInfo) -> None:
    with pytest.raises(RouteNotFoundError):
        table_of(method, "GET /a/b/c").match("GET", "/a%2Fb/c")


def test_a_value_that_is_not_utf8_is_a_bad_request(method: MethodInfo) -> None:
    with pytest.raises(RequestError) as raised:
        table_of(method, "GET /v1/{name}").match("GET", "/v1/caf%E9")
    assert raised.value.status == 400
    assert raised.value.violations[0].field == "name"
    assert "caf%E9" in raised.value.message


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        pytest.param("/prefix/middle/suffix", "GET /prefix/middle/suffix", id="three"),
        pytest.param("/prefix/middle", "GET /prefix/middle", id="two"),
        pytest.param("/prefix", "GET /prefix", id="one"),
        pytest.param("/prefix/", "GET /prefix", id="trailing-slash"),
        pytest.param("/prefix//", "GET /prefix", id="trailing-slashes"),
        pytest.param("prefix", "GET /prefix", id="no-leading-slash"),
        pytest.param("/", "GET /", id="root"),
        pytest.param("", "GET /", id="empty-path-is-root"),
    ],
)
def test_whole_paths_match_and_trailing_slashes_do_not_matter(
    method: MethodInfo, path: str, rule: str
) -> None:
    table = table_of(
        method, "GET /prefix/middle/suffix", "GET /prefix/middle", "GET /prefix", "GET /"
    )
    assert matched(table, "GET", path)[0] == rule


def test_head_follows_get_and_an_explicit_head_wins(method: MethodInfo) -> None:
    table = table_of(method, "GET /a", "GET /b", "HEAD /b", "* /c")
    assert matched(table, "HEAD", "/a")[0] == "GET /a"
    assert matched(table, "HEAD", "/b")[0] == "HEAD /b"
    assert matched(table, "HEAD", "/c")[0] == "* /c"


def test_other_methods_answer_405_with_allow(method: MethodInfo) -> None:
    table = table_of(method, "GET /v1/shelves", "POST /v1/shelves", "DELETE /v1/{x}")
    with pytest.raises(MethodNotAllowedError) as raised:
        table.match("PUT", "/v1/shelves")
    assert raised.value.status == 405
    assert raised.value.allow == ("DELETE", "GET", "HEAD", "POST")
    assert raised.value.headers == {"allow": "DELETE, GET, HEAD, POST"}
    assert raised.value.message == "PUT is not allowed on /v1/shelves; use DELETE, GET, HEAD, POST"


def test_a_verb_of_another_method_answers_405(method: MethodInfo) -> None:
    table = table_of(method, "POST /v1/{name=books/*}:move", "GET /v1/{name=books/*}")
    with pytest.raises(MethodNotAllowedError) as raised:
        table.match("GET", "/v1/books/1:move")
    assert raised.value.allow == ("POST",)


def test_long_paths_are_quoted_shortened(method: MethodInfo) -> None:
    with pytest.raises(RouteNotFoundError) as raised:
        table_of(method, "GET /a").match("GET", "/" + "x" * 5000)
    assert len(raised.value.message) < 300
    assert raised.value.message.endswith("...")


@pytest.mark.parametrize(
    ("path", "found"),
    [
        pytest.param("/api/v1/shelves", "GET /v1/shelves", id="under-base"),
        pytest.param("/api", "GET /", id="base-itself"),
        pytest.param("/api/", "GET /", id="base-with-slash"),
    ],
)
def test_base_path_is_stripped(method: MethodInfo, path: str, found: str) -> None:
    table = table_of(method, "GET /v1/shelves", "GET /", base_path="/api/")
    assert table.base_path == "/api"
    assert matched(table, "GET", path)[0] == found


@pytest.mark.parametrize("path", ["/v1/shelves", "/apiv1/shelves", "/"])
def test_paths_outside_the_base_path_are_not_found(method: MethodInfo, path: str) -> None:
    with pytest.raises(RouteNotFoundError, match="outside the base path /api"):
        table_of(method, "GET /v1/shelves", base_path="/api").match("GET", path)


def test_two_routes_with_one_shape_are_refused_by_the_table(method: MethodInfo) -> None:
    with pytest.raises(ValueError, match="duplicate route"):
        table_of(method, "GET /v1/{a}", "GET /v1/{b}")


_TABLE_RULES = (
    "GET /v1/{name=shelves/*}",
    "POST /v1/{name=shelves/*}:move",
    "* /v1/ping",
    "GET /v1/{x=**}/end",
    "DELETE /v1/shelves/special",
    "GET /",
)


@given(
    st.sampled_from(["GET", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS", "get", ""]),
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet="/%2Fv1shelves:move*{}.~", max_size=60),
        st.lists(st.sampled_from(["v1", "shelves", "x", "%2F", "%E9", ":move", "end", ""])).map(
            "/".join
        ),
    ),
)
def test_matching_raises_only_the_documented_errors(http_method: str, path: str) -> None:
    table = _property_table()
    result = _match_or_error(table, http_method, path)
    if isinstance(result, Match):
        assert all(isinstance(value, str) for _, value in result.bindings)
    else:
        assert result.message


def _match_or_error(
    table: RouteTable, http_method: str, path: str
) -> Match | RouteNotFoundError | MethodNotAllowedError | RequestError:
    # Any other exception escapes and fails the test.
    try:
        return table.match(http_method, path)
    except (RouteNotFoundError, MethodNotAllowedError, RequestError) as exc:
        return exc


_PROPERTY_TABLES: list[RouteTable] = []


def _property_table() -> RouteTable:
    # Hypothesis forbids function-scoped fixtures; the example registry is loaded once here.
    if not _PROPERTY_TABLES:
        from grpc_transcoder_tools import example_backend

        from tests.conftest import LIBRARY_SET

        registry = example_backend.load_registry(LIBRARY_SET)
        get_shelf = registry.methods["/library.v1.LibraryService/GetShelf"]
        _PROPERTY_TABLES.append(table_of(get_shelf, *_TABLE_RULES))
    return _PROPERTY_TABLES[0]


# -- the example API: every rule routes to its method ----------------------------------------


@pytest.fixture(scope="module")
def library_table(registry: Registry) -> RouteTable:
    routes, problems = routing.routes_for(registry)
    assert problems == []
    return RouteTable(routes)


@pytest.mark.parametrize(
    ("http_method", "path", "grpc_method", "bindings"),
    [
        pytest.param("GET", "/v1/shelves", "ListShelves", {}, id="ListShelves"),
        pytest.param("GET", "/v1/shelves/a", "GetShelf", {"name": "shelves/a"}, id="GetShelf"),
        pytest.param("POST", "/v1/shelves", "CreateShelf", {}, id="CreateShelf"),
        pytest.param(
            "DELETE", "/v1/shelves/a", "DeleteShelf", {"name": "shelves/a"}, id="DeleteShelf"
        ),
        pytest.param(
            "GET", "/v1/shelves/a/books", "ListBooks", {"parent": "shelves/a"}, id="ListBooks"
        ),
        pytest.param(
            "GET", "/v1/shelves/a/books/b", "GetBook", {"name": "shelves/a/books/b"}, id="GetBook"
        ),
        pytest.param(
            "GET",
            "/v1/shelves/a/books/b/metadata",
            "GetBookMetadata",
            {"name": "shelves/a/books/b"},
            id="GetBookMetadata",
        ),
        pytest.param(
            "POST", "/v1/shelves/a/books", "CreateBook", {"parent": "shelves/a"}, id="CreateBook"
        ),
        pytest.param(
            "PATCH",
            "/v1/shelves/a/books/b",
            "UpdateBook",
            {"book.name": "shelves/a/books/b"},
            id="UpdateBook",
        ),
        pytest.param(
            "DELETE",
            "/v1/shelves/a/books/b",
            "DeleteBook",
            {"name": "shelves/a/books/b"},
            id="DeleteBook",
        ),
        pytest.param(
            "POST",
            "/v1/shelves/a/books/b:move",
            "MoveBook",
            {"name": "shelves/a/books/b"},
            id="MoveBook",
        ),
        pytest.param("GET", "/v1/books:search", "SearchBooks", {}, id="SearchBooks-get"),
        pytest.param("POST", "/v1/books:search", "SearchBooks", {}, id="SearchBooks-post"),
        pytest.param(
            "GET",
            "/v1/shelves/a/books:search",
            "SearchBooks",
            {"shelf": "shelves/a"},
            id="SearchBooks-shelf",
        ),
        pytest.param(
            "GET",
            "/v1/shelves/a/books:stream",
            "StreamBooks",
            {"parent": "shelves/a"},
            id="StreamBooks",
        ),
        pytest.param("POST", "/v1/books:import", "ImportBooks", {}, id="ImportBooks"),
        pytest.param(
            "GET",
            "/v1/shelves/a/books/b/cover",
            "GetBookCover",
            {"name": "shelves/a/books/b"},
            id="GetBookCover",
        ),
        pytest.param(
            "PUT",
            "/v1/shelves/a/books/b/cover",
            "UploadBookCover",
            {"name": "shelves/a/books/b"},
            id="UploadBookCover",
        ),
        pytest.param("GET", "/v1/authors/x", "GetAuthor", {"id": "x"}, id="GetAuthor"),
        pytest.param("PUT", "/v1/authors/x", "UpdateAuthor", {"author.id": "x"}, id="UpdateAuthor"),
        pytest.param(
            "POST",
            "/library.v1.LibraryService/GetLibraryInfo",
            "GetLibraryInfo",
            {},
            id="GetLibraryInfo-default",
        ),
        pytest.param("POST", "/v1/debug/kinds:echo", "EchoKinds", {}, id="EchoKinds"),
        pytest.param("POST", "/v1/debug:fail", "Fail", {}, id="Fail"),
        pytest.param("GET", "/v1/debug:sleep", "Sleep", {}, id="Sleep"),
        pytest.param("POST", "/v1/debug/metadata:echo", "EchoMetadata", {}, id="EchoMetadata"),
        pytest.param("GET", "/v1/debug:stream", "Stream", {}, id="Stream"),
        pytest.param("POST", "/v1/debug:chat", "Chat", {}, id="Chat"),
        pytest.param("OPTIONS", "/v1/debug/ping", "Ping", {}, id="Ping-any-method"),
        pytest.param("POST", "/library.v1.DebugService/Ping", "Ping", {}, id="Ping-default"),
    ],
)
def test_every_rule_of_the_example_api_routes(
    library_table: RouteTable,
    http_method: str,
    path: str,
    grpc_method: str,
    bindings: dict[str, str],
) -> None:
    match = library_table.match(http_method, path)
    assert match.route.method.name == grpc_method
    assert {".".join(f): v for f, v in match.bindings} == bindings


def test_every_example_rule_is_covered(registry: Registry, library_table: RouteTable) -> None:
    annotated = {(r.http_method, r.template.text) for r in library_table.routes}
    expected = {(rule.method, rule.template) for m in registry.methods.values() for rule in m.rules}
    assert expected <= annotated
    assert len(library_table.routes) == len(expected) + len(registry.methods)


def test_example_routes_carry_body_and_response_body(library_table: RouteTable) -> None:
    by_rule = {str(r): r for r in library_table.routes}
    assert by_rule["POST /v1/shelves"].body == "shelf"
    assert by_rule["GET /v1/{name=shelves/*/books/*}/metadata"].response_body == "metadata"
    assert by_rule["POST /v1/books:search"].origin is RuleOrigin.ADDITIONAL_BINDING
    assert by_rule["POST /library.v1.LibraryService/GetLibraryInfo"].body == "*"
    assert by_rule["POST /library.v1.LibraryService/GetLibraryInfo"].origin is RuleOrigin.DEFAULT


@pytest.mark.parametrize(
    ("default_routes", "for_annotated", "defaults"),
    [
        pytest.param(True, True, 26, id="every-method"),
        pytest.param(True, False, 1, id="only-unannotated"),
        pytest.param(False, True, 0, id="off"),
    ],
)
def test_default_route_settings(
    registry: Registry, default_routes: bool, for_annotated: bool, defaults: int
) -> None:
    routes, _ = routing.routes_for(
        registry, default_routes=default_routes, default_routes_for_annotated=for_annotated
    )
    assert sum(r.origin is RuleOrigin.DEFAULT for r in routes) == defaults


# -- validation at load, on a .proto compiled for the purpose --------------------------------

RULES_PROTO = """
syntax = "proto3";
package routing.test.v1;

import "google/api/annotations.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Kind { KIND_UNSPECIFIED = 0; }
message Leaf { string id = 1; int64 n = 2; }
message Req {
  string name = 1;
  int64 count = 2;
  Leaf leaf = 3;
  repeated string tags = 4;
  repeated Leaf leaves = 5;
  map<string, string> labels = 6;
  google.protobuf.Int32Value edition = 7;
  google.protobuf.Timestamp when = 8;
  google.protobuf.Struct meta = 9;
  Kind kind = 10;
  string display_name = 11;
  optional string nickname = 12;
  oneof choice { string pick = 13; }
}
message Resp { string name = 1; Leaf leaf = 2; }

service Rules {
%s
  rpc NoRule(Req) returns (Resp);
}
"""

# method name -> (the google.api.http option body, the expected problem or "" when it routes)
RULE_CASES: dict[str, tuple[str, str]] = {
    "Basic": ('get: "/v1/{name=things/*}"', ""),
    "JsonName": ('get: "/v1/items/{displayName}"', ""),
    "Nested": ('get: "/v1/leaf/{leaf.id}"', ""),
    "Wrapper": ('get: "/v1/editions/{edition}"', ""),
    "WrapperValue": ('get: "/v1/editions/{edition.value}/x"', ""),
    "Timestamp": ('get: "/v1/at/{when}"', ""),
    "Enum": ('get: "/v1/kinds/{kind}"', ""),
    "Optional": ('get: "/v1/nick/{nickname}"', ""),
    "Oneof": ('get: "/v1/pick/{pick}"', ""),
    "BodyJsonName": ('post: "/v1/b3" body: "displayName"', ""),
    "BodyRepeated": ('post: "/v1/b4" body: "tags"', ""),
    "ResponseBody": ('get: "/v1/r2" response_body: "leaf"', ""),
    "AnyMethod": ('custom: {kind: "*" path: "/v1/any"}', ""),
    "CustomHead": ('custom: {kind: "head" path: "/v1/head"}', ""),
    "Unknown": (
        'get: "/v1/{nope}"',
        "variable {nope}: field 'nope' is not a field of routing.test.v1.Req (fields: name,",
    ),
    "UnknownNested": (
        'get: "/v1/x/{leaf.nope}"',
        "field 'nope' (in leaf) is not a field of routing.test.v1.Leaf (fields: id, n)",
    ),
    "Repeated": ('get: "/v1/tags/{tags}"', "'tags' is a repeated field; a path variable binds"),
    "Map": ('get: "/v1/labels/{labels}"', "'labels' is a map field; a path variable binds"),
    "Message": (
        'get: "/v1/leafs/{leaf}"',
        "'leaf' is a message field (routing.test.v1.Leaf); bind one of its fields, such as leaf.id",
    ),
    "Struct": (
        'get: "/v1/meta/{meta}"',
        "'meta' is a message field (google.protobuf.Struct); bind one of its fields",
    ),
    "ThroughRepeated": (
        'get: "/v1/leaves/{leaves.id}"',
        "'leaves' is a repeated field; a field path cannot go through it",
    ),
    "ThroughMap": (
        'get: "/v1/lab/{labels.x}"',
        "'labels' is a map field; a field path cannot go through it",
    ),
    "ThroughString": ('get: "/v1/n/{name.x}"', "'name' is a string field, not a message"),
    "ThroughInt": ('get: "/v1/c/{count.x}"', "'count' is an int64 field, not a message"),
    "ThroughEnum": (
        'get: "/v1/k/{kind.x}"',
        "'kind' is an enum field (routing.test.v1.Kind), not a message",
    ),
    "BadTemplate": (
        'get: "/v1/{name"',
        "invalid template: column 10: unterminated variable opened at column 5",
    ),
    "EmptyTemplate": ('get: ""', "invalid template: column 1: empty template"),
    "BoundTwice": (
        'get: "/v1/twice/{display_name}/{displayName}"',
        "field 'display_name' is bound by two variables",
    ),
    "BodyUnknown": (
        'post: "/v1/b1" body: "nope"',
        "body 'nope' is not a field of routing.test.v1.Req",
    ),
    "BodyThroughRepeated": (
        'post: "/v1/b2" body: "leaves.id"',
        "'leaves' is a repeated field; a field path cannot go through it",
    ),
    "BodyThroughScalar": (
        'post: "/v1/b3" body: "name.id"',
        "'name' is a string field, not a message",
    ),
    "ResponseBodyUnknown": (
        'get: "/v1/r1" response_body: "nope"',
        "response_body 'nope' is not a field of routing.test.v1.Resp",
    ),
    "BadKind": ('custom: {kind: "GE T" path: "/v1/badkind"}', "invalid HTTP method 'GE T'"),
    "EmptyKind": ('custom: {kind: "" path: "/v1/nokind"}', "invalid HTTP method ''"),
    "DupA": ('get: "/v1/dup/{name}"', ""),
    "DupB": (
        'get: "/v1/dup/{count}"',
        "same HTTP method and template as GET /v1/dup/{name} of routing.test.v1.Rules/DupA"
        " (annotation), which keeps the route",
    ),
    "Additional": (
        'get: "/v1/main" additional_bindings { get: "/v1/{nope}/extra" }'
        ' additional_bindings { post: "/v1/main" body: "*" }',
        "variable {nope}",
    ),
}


@pytest.fixture(scope="module")
def rules_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    directory: Path = tmp_path_factory.mktemp("rules")
    methods = "\n".join(
        f"  rpc {name}(Req) returns (Resp) {{ option (google.api.http) = {{ {body} }}; }}"
        for name, (body, _) in RULE_CASES.items()
    )
    output = compile_set(directory, RULES_PROTO % methods, "rules")
    return descriptors.build([Blob(str(output), output.read_bytes())])


@pytest.fixture(scope="module")
def compiled(rules_registry: Registry) -> tuple[list[Route], list[RouteProblem]]:
    return routing.routes_for(rules_registry)


def _routes_of(routes: list[Route], name: str) -> Iterator[Route]:
    return (r for r in routes if r.method.name == name and r.origin is not RuleOrigin.DEFAULT)


@pytest.mark.parametrize(
    ("name", "reason"),
    [pytest.param(name, reason, id=name) for name, (_, reason) in RULE_CASES.items() if reason],
)
def test_bad_rules_are_reported_with_method_template_and_reason(
    compiled: tuple[list[Route], list[RouteProblem]], name: str, reason: str
) -> None:
    _, problems = compiled
    mine = [p for p in problems if p.method == f"routing.test.v1.Rules/{name}"]
    assert len(mine) == 1, problems
    assert reason in mine[0].reason
    assert str(mine[0]).startswith(f"routing.test.v1.Rules/{name}: {mine[0].http_method} ")
    assert mine[0].template in str(mine[0])


@pytest.mark.parametrize(
    "name", [pytest.param(name, id=name) for name, (_, reason) in RULE_CASES.items() if not reason]
)
def test_good_rules_route(compiled: tuple[list[Route], list[RouteProblem]], name: str) -> None:
    routes, problems = compiled
    assert len(list(_routes_of(routes, name))) == 1
    assert not [p for p in problems if p.method.endswith(f"/{name}")]


def test_the_rest_of_the_api_loads_around_bad_rules(
    compiled: tuple[list[Route], list[RouteProblem]],
) -> None:
    routes, problems = compiled
    kept = {str(r) for r in _routes_of(routes, "Additional")}
    assert kept == {"GET /v1/main", "POST /v1/main"}
    (problem,) = [p for p in problems if p.method.endswith("/Additional")]
    assert problem.origin is RuleOrigin.ADDITIONAL_BINDING
    assert problem.template == "/v1/{nope}/extra"
    assert len([r for r in routes if r.origin is RuleOrigin.DEFAULT]) == len(RULE_CASES) + 1
    RouteTable(routes)  # what is left compiles


@pytest.mark.parametrize(
    ("name", "path", "field_path", "http_method", "body", "response_body"),
    [
        pytest.param("JsonName", "/v1/items/x", ("display_name",), "GET", "", "", id="json-name"),
        pytest.param("Nested", "/v1/leaf/x", ("leaf", "id"), "GET", "", "", id="nested"),
        pytest.param("BodyJsonName", "/v1/b3", None, "POST", "display_name", "", id="body"),
        pytest.param("ResponseBody", "/v1/r2", None, "GET", "", "leaf", id="response-body"),
        pytest.param("AnyMethod", "/v1/any", None, "*", "", "", id="custom-any"),
        pytest.param("CustomHead", "/v1/head", None, "HEAD", "", "", id="custom-head"),
    ],
)
def test_routes_use_proto_names_whatever_the_rule_wrote(
    compiled: tuple[list[Route], list[RouteProblem]],
    name: str,
    path: str,
    field_path: tuple[str, ...] | None,
    http_method: str,
    body: str,
    response_body: str,
) -> None:
    (route,) = _routes_of(compiled[0], name)
    assert (route.http_method, route.body, route.response_body) == (
        http_method,
        body,
        response_body,
    )
    if field_path is not None:
        assert route.template.variables[0].field_path == field_path
        match = RouteTable([route]).match(http_method, path)
        assert match.bindings == ((field_path, "x"),)


def test_a_problem_reads_as_one_line() -> None:
    problem = RouteProblem("a.B/C", "GET", "/v1/{x", RuleOrigin.ANNOTATION, "invalid template")
    assert str(problem) == "a.B/C: GET '/v1/{x' (annotation): invalid template"
