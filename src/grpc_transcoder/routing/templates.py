"""Path templates: parse the google.api.http template grammar into segments and variables.

Input: a template such as `/v1/{name=shelves/*}:move`. Output: a `PathTemplate`, or a
`TemplateError` naming the column and the reason. Grammar (google/api/http.proto)::

    Template  = "/" | "/" Segments [ Verb ] ;
    Segments  = Segment { "/" Segment } ;
    Segment   = "*" | "**" | LITERAL | Variable ;
    Variable  = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb      = ":" LITERAL ;

`{x}` means `{x=*}`. Only literals may follow `**`, which appears at most once; variables do not
nest. LITERAL is made of RFC 3986 path characters other than `:` and `*` (use %XX for others).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WILDCARD = "*"
DEEP_WILDCARD = "**"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 3986 pchar without ':' (the verb separator) and '*' (the wildcards), or a %XX escape.
_LITERAL_RUN = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()+,;=@]|%[0-9A-Fa-f]{2})+")


class TemplateError(ValueError):
    """The template does not follow the grammar; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable binding template segments [start, end) to a field path.

    When the variable holds the `**`, the path segments it binds stretch with the request;
    `PathTemplate.span` turns the template positions into path positions.
    """

    field_path: tuple[str, ...]
    start: int
    end: int
    deep: bool = False  # holds the '**'

    @property
    def multi_segment(self) -> bool:
        """Whether the value may span several segments (reserved characters stay encoded)."""
        return self.deep or self.end - self.start > 1

    @property
    def name(self) -> str:
        return ".".join(self.field_path)


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A parsed template. `segments` holds literals (as written), `*` and `**`."""

    text: str
    segments: tuple[str, ...]
    variables: tuple[Variable, ...]
    verb: str
    deep_index: int | None = None  # position of '**' in `segments`

    def span(self, variable: Variable, path_length: int) -> tuple[int, int]:
        """The [start, end) positions of the request path segments bound to `variable`.

        `path_length` is the number of segments of a path this template matched; positions
        after the `**` move by however many segments it took.
        """
        if self.deep_index is None:
            return variable.start, variable.end
        shift = path_length - len(self.segments)
        start = variable.start + shift if variable.start > self.deep_index else variable.start
        end = variable.end + shift if variable.end > self.deep_index else variable.end
        return start, end

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> PathTemplate:
    """Parse `text`; raises TemplateError naming the column and what is wrong."""
    if text == "/":
        return PathTemplate(text, (), (), "")
    return _Parser(text).template()


class _Parser:
    """A recursive-descent parser over one template; `position` is the next character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.segments: list[str] = []
        self.variables: list[Variable] = []
        self.variable_start: int | None = None  # column of the open '{'

    def template(self) -> PathTemplate:
        if not self.text.startswith("/"):
            raise self.error("a template must start with '/'" if self.text else "empty template")
        self.position = 1
        self.segments_rule()
        verb = self.verb() if self.peek() == ":" else ""
        if self.position < len(self.text):
            raise self.error(self.leftover(self.peek()))
        deep_index = self.check_deep_wildcard()
        return PathTemplate(
            self.text, tuple(self.segments), tuple(self.variables), verb, deep_index
        )

    @staticmethod
    def leftover(char: str) -> str:
        # Literals and wildcards stop only at separators, so what is left follows a verb or a '}'.
        if char == "/":
            return "unexpected '/'; a verb must end the template"
        if char == "}":
            return "'}' without a matching '{'"
        return f"unexpected {char!r}; a variable must be a whole segment"

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def error(self, reason: str, *, column: int | None = None) -> TemplateError:
        at = self.position + 1 if column is None else column
        return TemplateError(f"column {at}: {reason}")

    def segments_rule(self) -> None:
        self.segment()
        while self.peek() == "/":
            self.position += 1
            self.segment()

    def segment(self) -> None:
        char = self.peek()
        if char == "*":
            self.wildcard()
        elif char == "{":
            self.variable()
        elif char == "}" and self.variable_start is None:
            raise self.error("'}' without a matching '{'")
        elif char in ("/", "", ":", "}"):
            raise self.error(f"empty segment{self.before(char)}")
        else:
            self.segments.append(self.literal("segment"))

    @staticmethod
    def before(char: str) -> str:
        return f" before {char!r}" if char else " at the end"

    def wildcard(self) -> None:
        start = self.position
        while self.peek() == "*":
            self.position += 1
        stars = self.text[start : self.position]
        if len(stars) > 2:
            raise self.error(f"{stars!r} is not a segment; use '*' or '**'", column=start + 1)
        if self.peek() not in ("/", "", ":", "}"):
            raise self.error(f"{stars!r} must be a whole segment")
        self.segments.append(stars)

    def literal(self, what: str) -> str:
        start = self.position
        run = _LITERAL_RUN.match(self.text, start)
        if run is not None:
            self.position = run.end()
        char = self.peek()
        if char not in ("/", "", ":", "}"):
            raise self.error(self.bad_literal_char(char))
        if start == self.position:
            raise self.error(f"empty {what}{self.before(char)}")
        if char == "}" and self.variable_start is None:
            raise self.error("'}' without a matching '{'")
        return self.text[start : self.position]

    def bad_literal_char(self, char: str) -> str:
        """Why `char`, where a literal stopped short of a separator, cannot be there."""
        if char == "%":
            return "'%' must start an escape such as %2F"
        if char == "*":
            return "'*' must be a whole segment"
        if char == "{":
            if self.variable_start is not None:
                return "nested variables are not allowed"
            return "a variable must be a whole segment"
        return f"character {char!r} is not allowed; percent-encode it"

    def variable(self) -> None:
        if self.variable_start is not None:
            raise self.error("nested variables are not allowed")
        self.variable_start = self.position + 1
        self.position += 1
        field_path = self.field_path()
        start = len(self.segments)
        if self.peek() == "=":
            self.position += 1
            self.segments_rule()
        else:
            self.segments.append(WILDCARD)
        self.close_variable()
        deep = DEEP_WILDCARD in self.segments[start:]
        self.add_variable(Variable(field_path, start, len(self.segments), deep))

    def field_path(self) -> tuple[str, ...]:
        names = [self.identifier()]
        while self.peek() == ".":
            self.position += 1
            names.append(self.identifier())
        return tuple(names)

    def identifier(self) -> str:
        found = _IDENT.match(self.text, self.position)
        if found is None:
            char = self.peek()
            got = f"{char!r}" if char else "the end"
            raise self.error(f"expected a field name, got {got}")
        self.position = found.end()
        return found.group()

    def close_variable(self) -> None:
        opened = self.variable_start
        if self.peek() != "}":
            char = self.peek()
            reason = f"unexpected {char!r} in the variable" if char else "unterminated variable"
            raise self.error(f"{reason} opened at column {opened}; expected '}}'")
        self.position += 1
        self.variable_start = None

    def add_variable(self, variable: Variable) -> None:
        for other in self.variables:
            if other.field_path == variable.field_path:
                raise self.error(f"field path {variable.name!r} is bound twice")
        self.variables.append(variable)

    def verb(self) -> str:
        self.position += 1
        return self.literal("verb after ':'")

    def check_deep_wildcard(self) -> int | None:
        if DEEP_WILDCARD not in self.segments:
            return None
        index = self.segments.index(DEEP_WILDCARD)
        for later in self.segments[index + 1 :]:
            if later in (WILDCARD, DEEP_WILDCARD):
                raise TemplateError(f"only literal segments may follow '**', not {later!r}")
        return index
