"""JSON decoding problems: what was wrong with a value, and where, as decoding unwinds.

Input: the offending value and what was expected. Output: `Invalid`, whose relative field paths
each enclosing message, list or map prefixes on the way up, so that every problem in a body is
reported with its full path at the end (and nothing is spent on paths while values are good).

Decoding stops at MAX_REPORTED_PROBLEMS: the container that collects that many raises at once
with `stopped` set, and every enclosing one passes it up without looking further. A hostile body
therefore costs no more than a good one (most of it is never looked at), and "did you mean"
suggestions and offending values are rendered for the reported problems only, each bounded.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson

from grpc_transcoder.errors import MAX_REPORTED_PROBLEMS, clip

MAX_DEPTH = 100  # json_format's default max_recursion_depth: deeper nesting is rejected
Problems = list[tuple[str, str]]  # (relative path such as `.reviews[2].stars`, description)
_SHOWN_CHARS = 80
_SHOWN_ITEMS = 4  # elements or members shown of an array or object
_SHOWN_LEVELS = 2
_KEY_CHARS = 64  # of a JSON key in a field path


class Invalid(Exception):
    """Values that do not fit their fields.

    `skippable` when ignore_unknown_fields drops it; `stopped` when decoding gave up after
    MAX_REPORTED_PROBLEMS (enclosing containers then pass it on without decoding further).
    """

    def __init__(
        self, problems: Problems, *, skippable: bool = False, stopped: bool = False
    ) -> None:
        super().__init__(problems)
        self.problems = problems
        self.skippable = skippable
        self.stopped = stopped


def invalid(description: str, *, skippable: bool = False) -> Invalid:
    return Invalid([("", description)], skippable=skippable)


def expected(what: str, value: Any, reason: str = "") -> Invalid:
    return invalid(f"expected {what}, got {show(value)}{f' ({reason})' if reason else ''}")


def too_deep() -> Invalid:
    return invalid(f"nested more than {MAX_DEPTH} messages deep")


def prefixed(problems: Problems | None, segment: str, exc: Invalid) -> Problems:
    """`problems` extended with those of `exc`, their paths moved under `segment`.

    Raises Invalid with `stopped` set once MAX_REPORTED_PROBLEMS are collected, or when `exc`
    has stopped: called from an `except` clause inside a container's loop, this ends the loop.
    """
    found = problems if problems is not None else []
    found.extend((segment + path, description) for path, description in exc.problems)
    if exc.stopped or len(found) >= MAX_REPORTED_PROBLEMS:
        raise Invalid(found[:MAX_REPORTED_PROBLEMS], stopped=True) from None
    return found


def key_segment(key: str) -> str:
    """The path segment of a JSON object key, clipped: a key may be as long as the body."""
    return "." + (key if len(key) <= _KEY_CHARS else clip(key, _KEY_CHARS))


def show(value: Any) -> str:
    """A short rendering of an offending JSON value for error messages.

    Bounded whatever the value: long strings are cut before rendering, and only the first
    few elements and members of the first levels of arrays and objects are shown.
    """
    return clip(_render(value, _SHOWN_LEVELS), _SHOWN_CHARS)


def _render(value: Any, levels: int) -> str:
    if isinstance(value, str):
        return _dumps(value[: _SHOWN_CHARS + 1])
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [_render(item, levels - 1) for item in value[:_SHOWN_ITEMS]] if levels else []
        return "[" + ",".join(_more(items, len(value))) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = itertools.islice(value.items(), _SHOWN_ITEMS if levels else 0)
        items = [f"{_render(key, 0)}:{_render(item, levels - 1)}" for key, item in members]
        return "{" + ",".join(_more(items, len(value))) + "}"
    return _dumps(value)


def _more(items: list[str], count: int) -> list[str]:
    return items if len(items) == count else [*items, "..."]


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # surrogates in a string, bytes, objects that are not JSON
        return json.dumps(value) if isinstance(value, str) else repr(value)


def render_path(prefix: str, path: str) -> str:
    """`book` + `.reviews[2].stars` -> `book.reviews[2].stars`; a bare path drops its dot."""
    if not prefix:
        return path[1:] if path.startswith(".") else path
    return prefix + path
