"""Path templates: the google.api.http grammar, cases drawn from the reference's parser tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.routing.templates import PathTemplate, TemplateError, Variable, parse


def _vars(*specs: tuple[str, int, int, bool]) -> tuple[Variable, ...]:
    return tuple(
        Variable(tuple(name.split(".")), start, end, deep) for name, start, end, deep in specs
    )


@pytest.mark.parametrize(
    ("text", "segments", "variables", "verb"),
    [
        pytest.param("/", (), (), "", id="root"),
        pytest.param("/v1/shelves", ("v1", "shelves"), (), "", id="literals"),
        pytest.param(
            "/shelves/{shelf}/books/{book}",
            ("shelves", "*", "books", "*"),
            _vars(("shelf", 1, 2, False), ("book", 3, 4, False)),
            "",
            id="short-variables-mean-star",
        ),
        pytest.param("/shelves/**", ("shelves", "**"), (), "", id="deep-wildcard-last"),
        pytest.param("/**", ("**",), (), "", id="deep-wildcard-alone"),
        pytest.param("/a:foo", ("a",), (), "foo", id="verb"),
        pytest.param("/a/b/c:foo", ("a", "b", "c"), (), "foo", id="verb-after-literals"),
        pytest.param("/*/**", ("*", "**"), (), "", id="star-then-deep"),
        pytest.param("/*/a/**", ("*", "a", "**"), (), "", id="star-literal-deep"),
        pytest.param(
            "/a/{a.b.c}", ("a", "*"), _vars(("a.b.c", 1, 2, False)), "", id="nested-field"
        ),
        pytest.param("/a/{b=*}", ("a", "*"), _vars(("b", 1, 2, False)), "", id="explicit-star"),
        pytest.param("/a/{b=**}", ("a", "**"), _vars(("b", 1, 2, True)), "", id="variable-deep"),
        pytest.param(
            "/a/{b=c/*}", ("a", "c", "*"), _vars(("b", 1, 3, False)), "", id="variable-two-segments"
        ),
        pytest.param(
            "/a/{b=c/*/d}",
            ("a", "c", "*", "d"),
            _vars(("b", 1, 4, False)),
            "",
            id="variable-literal-after-star",
        ),
        pytest.param(
            "/a/{b=c/**}/d/e",
            ("a", "c", "**", "d", "e"),
            _vars(("b", 1, 3, True)),
            "",
            id="literals-after-deep-variable",
        ),
        pytest.param(
            "/a/{b=c/**/d}/e:verb",
            ("a", "c", "**", "d", "e"),
            _vars(("b", 1, 4, True)),
            "verb",
            id="deep-variable-literal-inside-and-verb",
        ),
        pytest.param("/*:verb", ("*",), (), "verb", id="star-verb"),
        pytest.param("/**:verb", ("**",), (), "verb", id="deep-verb"),
        pytest.param("/{a}:verb", ("*",), _vars(("a", 0, 1, False)), "verb", id="variable-verb"),
        pytest.param(
            "/{x.y.z=*/a/b}/c",
            ("*", "a", "b", "c"),
            _vars(("x.y.z", 0, 3, False)),
            "",
            id="variable-star-first",
        ),
        pytest.param(
            "/v1/{name=shelves/*/books/*}:move",
            ("v1", "shelves", "*", "books", "*"),
            _vars(("name", 1, 5, False)),
            "move",
            id="resource-name-with-verb",
        ),
        pytest.param(
            "/library.v1.LibraryService/GetLibraryInfo",
            ("library.v1.LibraryService", "GetLibraryInfo"),
            (),
            "",
            id="default-route-dots-in-literal",
        ),
        pytest.param("/a/p%20q/b~c", ("a", "p%20q", "b~c"), (), "", id="escapes-and-tilde"),
        pytest.param("/a=b/@c/$d", ("a=b", "@c", "$d"), (), "", id="sub-delims-in-literals"),
        pytest.param(
            "/{a}/{b}", ("*", "*"), _vars(("a", 0, 1, False), ("b", 1, 2, False)), "", id="two-vars"
        ),
    ],
)
def test_valid_templates_parse(
    text: str, segments: tuple[str, ...], variables: tuple[Variable, ...], verb: str
) -> None:
    template = parse(text)
    assert template.segments == segments
    assert template.variables == variables
    assert template.verb == verb
    assert str(template) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "column 1: empty template", id="empty"),
        pytest.param("a/b", "column 1: a template must start with '/'", id="no-leading-slash"),
        pytest.param("{x}", "must start with '/'", id="variable-without-slash"),
        pytest.param(":verb", "must start with '/'", id="verb-only"),
        pytest.param("//", "column 2: empty segment before '/'", id="double-slash"),
        pytest.param("/a/", "column 4: empty segment at the end", id="trailing-slash"),
        pytest.param("/a//b", "column 4: empty segment before '/'", id="empty-middle"),
        pytest.param("/{}", "column 3: expected a field name, got '}'", id="empty-variable"),
        pytest.param("/:verb", "column 2: empty segment before ':'", id="verb-after-root"),
        pytest.param("/a/:verb", "empty segment before ':'", id="verb-after-slash"),
        pytest.param("/a:", "column 4: empty verb after ':' at the end", id="empty-verb"),
        pytest.param("/*:", "empty verb", id="empty-verb-after-star"),
        pytest.param("/{var}:", "empty verb", id="empty-verb-after-variable"),
        pytest.param("/a/{", "expected a field name, got the end", id="open-brace"),
        pytest.param(
            "/a/{var", "column 8: unterminated variable opened at column 4", id="unterminated"
        ),
        pytest.param("/a/{var.", "expected a field name, got the end", id="dangling-dot"),
        pytest.param(
            "/a/{x=var:verb}",
            "unexpected ':' in the variable opened at column 4",
            id="verb-inside-variable",
        ),
        pytest.param("/a/{var=/b}", "empty segment before '/'", id="variable-starts-with-slash"),
        pytest.param("/{var=a/{nested=b}}", "nested variables are not allowed", id="nested"),
        pytest.param(
            "/{var=a{b}}", "column 8: nested variables are not allowed", id="nested-in-literal"
        ),
        pytest.param(
            "/a{x}", "column 3: a variable must be a whole segment", id="literal-then-var"
        ),
        pytest.param("/{x}a", "column 5: unexpected 'a'", id="var-then-literal"),
        pytest.param("/a/b{x}/s", "a variable must be a whole segment", id="var-inside-literal"),
        pytest.param("/a/{x}b{y}", "a variable must be a whole segment", id="two-vars-one-segment"),
        pytest.param(
            "/a/**/*", "only literal segments may follow '**', not '*'", id="star-after-deep"
        ),
        pytest.param("/a/**/foo/*", "not '*'", id="star-after-deep-literal"),
        pytest.param("/a/**/**", "not '**'", id="deep-twice"),
        pytest.param("/a/{x=b/**}/{y=*}", "not '*'", id="variable-after-deep"),
        pytest.param("/***", "'***' is not a segment", id="three-stars"),
        pytest.param("/a*", "column 3: '*' must be a whole segment", id="star-in-literal"),
        pytest.param("/*a", "column 3: '*' must be a whole segment", id="literal-after-star"),
        pytest.param("/a b", "character ' ' is not allowed; percent-encode it", id="space"),
        pytest.param("/a?b", "character '?' is not allowed", id="query"),
        pytest.param("/a#b", "character '#' is not allowed", id="fragment"),
        pytest.param("/caf\u00e9", "character '\u00e9' is not allowed", id="non-ascii"),
        pytest.param("/a/%zz", "'%' must start an escape such as %2F", id="bad-escape"),
        pytest.param("/a/%2", "'%' must start an escape", id="short-escape"),
        pytest.param("/a}", "'}' without a matching '{'", id="stray-close"),
        pytest.param("/{x}}", "'}' without a matching '{'", id="double-close"),
        pytest.param("/}", "'}' without a matching '{'", id="close-only"),
        pytest.param("/a:b/c", "unexpected '/'; a verb must end the template", id="verb-not-last"),
        pytest.param("/a:b:c", "unexpected ':'", id="two-verbs"),
        pytest.param("/{1x}", "expected a field name, got '1'", id="field-starts-with-digit"),
        pytest.param("/{x-y}", "unexpected '-' in the variable", id="dash-in-field"),
        pytest.param("/{x}/{x}", "field path 'x' is bound twice", id="same-field-twice"),
    ],
)
def test_invalid_templates_name_the_problem(text: str, reason: str) -> None:
    with pytest.raises(TemplateError) as raised:
        parse(text)
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    ("text", "variable", "path_length", "span"),
    [
        pytest.param("/a/{x}/c", 0, 3, (1, 2), id="fixed"),
        pytest.param("/a/{x=**}", 0, 5, (1, 5), id="deep-takes-the-rest"),
        pytest.param("/a/{x=**}", 0, 1, (1, 1), id="deep-takes-nothing"),
        pytest.param("/{x=**}/a/b", 0, 4, (0, 2), id="deep-before-literals"),
        pytest.param("/a/{x=b/**}/{y=c}", 1, 6, (5, 6), id="variable-after-deep-shifts"),
        pytest.param("/{x}/{y=**}/c", 0, 5, (0, 1), id="variable-before-deep-stays"),
    ],
)
def test_span_maps_template_positions_to_the_path(
    text: str, variable: int, path_length: int, span: tuple[int, int]
) -> None:
    template = parse(text)
    assert template.span(template.variables[variable], path_length) == span


@pytest.mark.parametrize(
    ("text", "multi"),
    [
        pytest.param("/{x}", False, id="single"),
        pytest.param("/{x=a}", False, id="single-literal"),
        pytest.param("/{x=a/*}", True, id="two-segments"),
        pytest.param("/{x=**}", True, id="deep"),
    ],
)
def test_multi_segment_variables(text: str, multi: bool) -> None:
    assert parse(text).variables[0].multi_segment is multi


def _parse_or_error(text: str) -> PathTemplate | TemplateError:
    try:
        return parse(text)
    except TemplateError as exc:
        return exc


@given(st.one_of(st.text(max_size=40), st.text(alphabet="/{}*=:.ab%2F", max_size=24)))
def test_any_text_parses_or_raises_template_error(text: str) -> None:
    # Anything else escaping (IndexError, RecursionError...) fails the test.
    result = _parse_or_error(text)
    if isinstance(result, TemplateError):
        assert str(result)
    else:
        assert result.text == text


_LITERAL = st.text(alphabet="abcxyz019-._~", min_size=1, max_size=5)
_FIELD = st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True)


@st.composite
def _templates(draw: st.DrawFn) -> tuple[str, tuple[str, ...], str]:
    """A valid template and the segments it must parse into."""
    parts: list[str] = []
    segments: list[str] = []
    fields: set[str] = set()
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["literal", "star", "variable"]))
        if kind == "literal":
            literal = draw(_LITERAL)
            parts.append(literal)
            segments.append(literal)
        elif kind == "star":
            parts.append("*")
            segments.append("*")
        else:
            field = draw(_FIELD.filter(lambda f: f not in fields))
            fields.add(field)
            inner = draw(st.lists(st.one_of(_LITERAL, st.just("*")), min_size=1, max_size=3))
            parts.append("{" + field + "=" + "/".join(inner) + "}")
            segments.extend(inner)
    if draw(st.booleans()):
        parts.append("**")
        segments.append("**")
        tail = draw(st.lists(_LITERAL, max_size=2))
        parts.extend(tail)
        segments.extend(tail)
    verb = draw(st.one_of(st.just(""), _LITERAL))
    return "/" + "/".join(parts) + (f":{verb}" if verb else ""), tuple(segments), verb


@given(_templates())
def test_generated_valid_templates_parse_into_their_segments(
    case: tuple[str, tuple[str, ...], str],
) -> None:
    text, segments, verb = case
    template = parse(text)
    assert template.segments == segments
    assert template.verb == verb
    for variable in template.variables:
        assert 0 <= variable.start < variable.end <= len(segments)
