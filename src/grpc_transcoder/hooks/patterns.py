"""Hook patterns: which gRPC methods a hook is registered for.

Input: a pattern (`package.Service/Method`, `package.Service/*`, `package.*` or `*`) and a
method name (`package.Service/Method`). Output: whether it matches, and how specific it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = rf"{_NAME}(?:\.{_NAME})*"
_PATTERN = re.compile(rf"\*|{_DOTTED}\.\*|{_DOTTED}/(?:\*|{_NAME})")

ANY = 0
PACKAGE = 1
SERVICE = 2
METHOD = 3


def check(pattern: str) -> None:
    """Raise ValueError, with the grammar, when `pattern` is not a hook pattern."""
    if _PATTERN.fullmatch(pattern) is None:
        raise ValueError(
            f"invalid hook pattern {pattern!r}: use `package.Service/Method`,"
            " `package.Service/*`, `package.*` or `*`"
        )


def specificity(pattern: str) -> tuple[int, int]:
    """Higher is more specific: `*`, then package wildcards (longer first), service, method."""
    if pattern == "*":
        return ANY, 0
    if pattern.endswith("/*"):
        return SERVICE, 0
    if pattern.endswith(".*"):
        return PACKAGE, len(pattern)
    return METHOD, 0


def matches(pattern: str, method: str) -> bool:
    """Whether `pattern` names `method` (`package.Service/Method`)."""
    if pattern == "*":
        return True
    if pattern.endswith("/*"):
        return method.partition("/")[0] == pattern[:-2]
    if pattern.endswith(".*"):
        return method.partition("/")[0].startswith(pattern[:-1])
    return method == pattern


def ordered(items: Iterable[T], method: str, *, key: Callable[[T], str]) -> tuple[T, ...]:
    """The items whose pattern matches `method`, most general first (stable otherwise)."""
    found = [item for item in items if matches(key(item), method)]
    return tuple(sorted(found, key=lambda item: specificity(key(item))))
