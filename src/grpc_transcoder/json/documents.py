"""JSON documents: request body text to parsed JSON values, as strictly as protobuf parses it.

Input: the bytes of a JSON document. Output: the parsed value (orjson), or DuplicateKeyError
when an object gives the same key twice. orjson keeps the last of duplicate keys silently;
protobuf's parsers (json_format, and the C++ and Go parsers behind Envoy and grpc-gateway)
refuse such documents, and so does the transcoder.

Duplicates are found by counting: the keys of the parsed value against the key separators of
the text. Most documents settle it with one `bytes.count`; those with colons inside strings
(timestamps, URLs) take one regular-expression pass over their strings.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import orjson

# A JSON string token (escapes included), written so that the regex engine never backtracks.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


class DuplicateKeyError(ValueError):
    """An object of the document gives `key` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {json.dumps(key)} is given twice in one object")
        self.key = key


# orjson reads an integer below the int64 minimum as a float, and those within 1024 of it round
# to exactly -2**63, a valid int64. Every such literal starts with this text.
_BELOW_INT64 = b"-922337203685477"


def loads(data: bytes) -> Any:
    """The parsed document; raises orjson.JSONDecodeError, or DuplicateKeyError."""
    value = orjson.loads(data)
    if _BELOW_INT64 in data:
        # Read again with exact integers, so that such a literal is refused as out of range
        # instead of silently becoming -2**63 (orjson has accepted the document already).
        with contextlib.suppress(RecursionError):
            value = json.loads(data)
    colons = data.count(b":")
    if colons:
        keys = _count_keys(value)
        # Every key has its colon; colons inside strings only add to the count.
        if keys != colons and keys != _STRING.sub(b"", data).count(b":"):
            raise DuplicateKeyError(_first_duplicate(data))
    return value


def _count_keys(value: Any) -> int:
    """The keys of every object in a parsed value (without recursion: orjson nests deeper
    than Python's recursion limit)."""
    count = 0
    pending = [value]
    while pending:
        container = pending.pop()
        if type(container) is dict:
            count += len(container)
            container = container.values()
        elif type(container) is not list:
            continue
        pending.extend(item for item in container if type(item) is dict or type(item) is list)
    return count


def _first_duplicate(data: bytes) -> str:
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return {}

    # Nested deeper than `json` goes, the key stays unnamed.
    with contextlib.suppress(ValueError, RecursionError):
        json.loads(data, object_pairs_hook=pairs)
    return found[0] if found else ""
