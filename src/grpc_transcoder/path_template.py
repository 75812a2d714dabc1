"""Path templates: parse the google.api.http template grammar into segments and variables.

Input: a template string such as `/v1/{name=shelves/*}:move`. Output: a `PathTemplate`.
Grammar (google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
"""

from __future__ import annotations

from dataclasses import dataclass

WILDCARD = "*"
DEEP_WILDCARD = "**"


class TemplateError(ValueError):
    """The template does not follow the grammar; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable binding segments [start, end) of the path to a field path.

    `end` is None when the variable ends with `**` and takes every remaining segment.
    """

    field_path: tuple[str, ...]
    start: int
    end: int | None

    @property
    def multi_segment(self) -> bool:
        return self.end is None or self.end - self.start > 1


@dataclass(frozen=True, slots=True)
class PathTemplate:
    text: str
    segments: tuple[str, ...]  # literals, "*" and "**"
    variables: tuple[Variable, ...]
    verb: str


def parse(text: str) -> PathTemplate:
    """Parse `text`; raises TemplateError naming the problem."""
    if not text.startswith("/"):
        raise TemplateError("a template must start with '/'")
    body, verb = _split_verb(text[1:])
    segments: list[str] = []
    variables: list[Variable] = []
    for part in _split_segments(body):
        if part.startswith("{"):
            variables.append(_variable(part, segments))
        else:
            segments.append(_segment(part))
    _check_deep_wildcard(segments)
    return PathTemplate(text, tuple(segments), tuple(variables), verb)


def _split_verb(body: str) -> tuple[str, str]:
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == "/" and depth == 0:
            break
        elif char == ":" and depth == 0:
            verb = body[index + 1 :]
            if not verb:
                raise TemplateError("empty verb after ':'")
            return body[:index], verb
    return body, ""


def _split_segments(body: str) -> list[str]:
    parts: list[str] = []
    current = ""
    depth = 0
    for char in body:
        if char == "{":
            if depth:
                raise TemplateError("nested variables are not allowed")
            depth = 1
        elif char == "}":
            if not depth:
                raise TemplateError("'}' without '{'")
            depth = 0
        if char == "/" and not depth:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise TemplateError("unterminated variable")
    parts.append(current)
    return parts


def _variable(part: str, segments: list[str]) -> Variable:
    if not part.endswith("}"):
        raise TemplateError(f"variable {part!r} must be a whole segment")
    inner = part[1:-1]
    name, _, pattern = inner.partition("=")
    field_path = tuple(name.split("."))
    if not all(p.isidentifier() for p in field_path):
        raise TemplateError(f"invalid field path {name!r}")
    start = len(segments)
    sub = pattern.split("/") if pattern else [WILDCARD]
    segments.extend(_segment(s) for s in sub)
    end = None if sub[-1] == DEEP_WILDCARD else len(segments)
    return Variable(field_path, start, end)


def _segment(part: str) -> str:
    if not part:
        raise TemplateError("empty segment")
    if part in (WILDCARD, DEEP_WILDCARD):
        return part
    if any(c in part for c in "{}*=:"):
        raise TemplateError(f"invalid literal segment {part!r}")
    return part


def _check_deep_wildcard(segments: list[str]) -> None:
    if DEEP_WILDCARD in segments and segments.index(DEEP_WILDCARD) != len(segments) - 1:
        raise TemplateError("'**' must be the last segment")
