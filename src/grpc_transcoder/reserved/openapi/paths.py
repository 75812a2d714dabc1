"""OpenAPI paths: one path per path shape, whatever the templates call their variables.

Input: route templates. Output: each template's OpenAPI path and the names of its path
parameters. A variable's pattern is spelled out: its literals stay in the path and each `*` or
`**` becomes a parameter (`/v1/{name=shelves/*/books/*}` is
`/v1/shelves/{shelves_id}/books/{books_id}`),
so generated clients build the URL segment by segment and never percent-encode a slash the
transcoder needs. Templates that match the same requests share one path: OpenAPI 3 forbids paths
that differ only in parameter names, so the first template of a shape names its parameters and
later ones reuse them (each operation's parameter descriptions tell which field they set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from grpc_transcoder.routing.templates import DEEP_WILDCARD, WILDCARD, PathTemplate, Variable

SLOT = "{}"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")


class UnrepresentableRoute(Exception):
    """The route has a form OpenAPI 3.1 cannot describe (named in the message)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One path parameter: a `*` or `**` of a variable, at template segment `segment`."""

    variable: Variable
    segment: int
    deep: bool  # the `**`: the value may hold slashes

    @property
    def plain(self) -> bool:
        """The variable is `{field}`: the parameter is the field's whole value."""
        return self.variable.end - self.variable.start == 1 and not self.deep


def slots(template: PathTemplate) -> list[Slot]:
    """The parameters of `template`, in path order."""
    found = []
    for variable in template.variables:
        for index in range(variable.start, variable.end):
            segment = template.segments[index]
            if segment in (WILDCARD, DEEP_WILDCARD):
                found.append(Slot(variable, index, segment == DEEP_WILDCARD))
    return found


def render(template: PathTemplate, names: Sequence[str]) -> str:
    """The OpenAPI path of `template` with `names` for its slots (SLOT for each: the shape)."""
    inside = {index for v in template.variables for index in range(v.start, v.end)}
    named = dict(zip((slot.segment for slot in slots(template)), names, strict=True))
    parts = []
    for index, segment in enumerate(template.segments):
        if index in named:
            parts.append(SLOT if named[index] == SLOT else "{" + named[index] + "}")
        elif segment in (WILDCARD, DEEP_WILDCARD) and index not in inside:
            raise UnrepresentableRoute(f"wildcard {segment!r} outside a variable")
        else:
            parts.append(segment)
    verb = f":{template.verb}" if template.verb else ""
    return "/" + "/".join(parts) + verb


def shape(template: PathTemplate) -> str:
    """The path with every parameter as `{}`: templates of one shape match the same URLs."""
    return render(template, [SLOT] * len(slots(template)))


def own_names(template: PathTemplate) -> list[str]:
    """Names from the template itself: a plain variable's field path (`book_name` for
    `{book.name}`); in a pattern, the literal before the segment (`shelves_id` after
    `shelves/`, `files_path` for a `**` after `files/`), else the field path."""
    names: list[str] = []
    for slot in slots(template):
        variable = slot.variable
        name = "_".join(variable.field_path)
        before = template.segments[slot.segment - 1] if slot.segment > variable.start else ""
        literal = _NOT_NAME.sub("_", before).strip("_")
        if not slot.plain and literal and before not in (WILDCARD, DEEP_WILDCARD):
            name = f"{literal}_path" if slot.deep else f"{literal}_id"
        if name[0].isdigit():
            name = f"p{name}"
        unique, number = name, 2
        while unique in names:
            unique, number = f"{name}_{number}", number + 1
        names.append(unique)
    return names


class PathKeys:
    """Assigns each template its OpenAPI path; templates of one shape share the first's names."""

    def __init__(self) -> None:
        self._names: dict[str, list[str]] = {}

    def assign(self, template: PathTemplate) -> tuple[str, list[str]]:
        key = shape(template)
        names = self._names.setdefault(key, own_names(template))
        return render(template, names), names


def binding(template: PathTemplate, variable: Variable, names: Sequence[str]) -> str:
    """How the path spells a variable's value: `shelves/{shelves_id}/books/{books_id}`."""
    named = dict(zip((slot.segment for slot in slots(template)), names, strict=True))
    return "/".join(
        "{" + named[index] + "}" if index in named else template.segments[index]
        for index in range(variable.start, variable.end)
    )
