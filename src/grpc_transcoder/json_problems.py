"""JSON decoding problems: what was wrong with a value, and where, as decoding unwinds.

Input: the offending value and what was expected. Output: `Invalid`, whose relative field paths
each enclosing message, list or map prefixes on the way up, so that every problem in a body is
reported with its full path at the end (and nothing is spent on paths while values are good).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

MAX_DEPTH = 100  # json_format's default max_recursion_depth: deeper nesting is rejected
Problems = list[tuple[str, str]]  # (relative path such as `.reviews[2].stars`, description)


class Invalid(Exception):
    """Values that do not fit their fields; `skippable` when ignore_unknown_fields drops it."""

    def __init__(self, problems: Problems, *, skippable: bool = False) -> None:
        super().__init__(problems)
        self.problems = problems
        self.skippable = skippable


def invalid(description: str, *, skippable: bool = False) -> Invalid:
    return Invalid([("", description)], skippable=skippable)


def expected(what: str, value: Any, reason: str = "") -> Invalid:
    return invalid(f"expected {what}, got {show(value)}{f' ({reason})' if reason else ''}")


def too_deep() -> Invalid:
    return invalid(f"nested more than {MAX_DEPTH} messages deep")


def prefixed(problems: Problems | None, segment: str, exc: Invalid) -> Problems:
    """`problems` extended with those of `exc`, their paths moved under `segment`."""
    found = problems if problems is not None else []
    found.extend((segment + path, description) for path, description in exc.problems)
    return found


def show(value: Any) -> str:
    """A short rendering of an offending JSON value for error messages."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # surrogates in a string, bytes, objects that are not JSON
        text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def render_path(prefix: str, path: str) -> str:
    """`book` + `.reviews[2].stars` -> `book.reviews[2].stars`; a bare path drops its dot."""
    if not prefix:
        return path[1:] if path.startswith(".") else path
    return prefix + path
