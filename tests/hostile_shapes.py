"""Hostile request shapes against the example API, each next to a well-formed body like it.

Used by the benchmarks (CPU per MiB and peak RSS per request for each shape), the hostile-input
tests (the bounds on every answer) and the fuzz campaign (its seeds). Each shape builds a body
of about the size asked for; its `honest` twin has the same size and the same kind of body, and
is accepted.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tests.event_builder import Source, build

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NDJSON = "application/x-ndjson"
GRPC_WEB = "application/grpc-web+proto"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request: what a test or benchmark turns into a Lambda event."""

    method: str
    path: str
    content_type: str
    body: bytes
    base64: bool = False  # `body` is the event's text as it is, marked isBase64Encoded


Builder = Callable[[int], Request]


@dataclass(frozen=True, slots=True)
class Shape:
    """A hostile request of about `size` bytes and an accepted one of the same size and kind."""

    name: str
    description: str
    hostile: Builder
    honest: Builder


def _count(size: int, per_item: int) -> int:
    return max(1, size // per_item)


def _json(path: str, value: object) -> Request:
    return Request("POST", path, JSON, orjson.dumps(value))


def unknown_keys(size: int) -> Request:
    """An object of many keys that name no field (each wants a "did you mean")."""
    keys = {f"k{i}": 1 for i in range(_count(size, 12))}
    return _json("/v1/shelves", keys)


def map_entries(size: int) -> Request:
    """The honest twin: as many keys, in a map field that takes them."""
    return _json("/v1/shelves", {"labels": {f"k{i}": "1" for i in range(_count(size, 13))}})


def wrong_elements(size: int) -> Request:
    """An array of wrong-typed elements, each a problem with its own path."""
    return _json("/v1/debug/kinds:echo", {"rInt32": ["x"] * _count(size, 4)})


def right_elements(size: int) -> Request:
    return _json("/v1/debug/kinds:echo", {"rInt32": [7] * _count(size, 2)})


def nested_problems(size: int) -> Request:
    """Many small messages in an array, each with a key that names no field."""
    item = {"count": 1, "nope": 1}
    return _json("/v1/debug/kinds:echo", {"rNested": [item] * _count(size, 24)})


def nested_messages(size: int) -> Request:
    item = {"count": 1, "label": "xx"}
    return _json("/v1/debug/kinds:echo", {"rNested": [item] * _count(size, 26)})


def deep_nesting(size: int) -> Request:
    """Messages nested past the depth limit, over and over."""
    deep: object = {"fInt32": 1}
    for _ in range(60):
        deep = {"fNested": {"child": deep}}
    return _json("/v1/debug/kinds:echo", {"rNested": [{"child": deep}] * _count(size, 1_600)})


def deep_values(size: int) -> Request:
    """The honest twin: JSON nested 30 levels deep (each a Struct in a Value: 60 messages)."""
    deep: object = 1
    for _ in range(30):
        deep = {"child": deep}
    return _json("/v1/debug/kinds:echo", {"rValue": [deep] * _count(size, 271)})


def long_wrong_strings(size: int) -> Request:
    """Long strings where numbers belong: each quoted back in the error."""
    text = "9" * 4_000
    return _json("/v1/debug/kinds:echo", {"rInt64": [text + "x"] * _count(size, 4_004)})


def long_numbers(size: int) -> Request:
    return _json("/v1/debug/kinds:echo", {"rString": ["9" * 4_000] * _count(size, 4_003)})


def form_pairs(size: int) -> Request:
    """`x&x&x...`: a form of countless empty fields."""
    return Request("POST", "/v1/shelves", FORM, b"&".join([b"x"] * _count(size, 2)))


def form_fields(size: int) -> Request:
    """The honest twin: a form with a few fields, one of them long."""
    return Request("POST", "/v1/shelves", FORM, b"theme=" + b"x" * max(1, size - 6))


def ndjson_lines(size: int) -> Request:
    """A request stream of countless empty messages."""
    return Request("POST", "/v1/books:import", NDJSON, b"{}\n" * _count(size, 3))


def ndjson_books(size: int) -> Request:
    line = orjson.dumps({"name": "shelves/fiction/books/imported", "title": "x" * 1_000}) + b"\n"
    return Request("POST", "/v1/books:import", NDJSON, line * _count(size, len(line)))


def _frame(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


def web_frames(size: int) -> Request:
    """A gRPC-Web request stream of countless empty frames."""
    return Request("POST", "/library.v1.DebugService/Chat", GRPC_WEB, _frame(b"") * (size // 5))


def web_messages(size: int) -> Request:
    chat = b"\x0a\x82\x08" + b"x" * 1_026  # ChatMessage.text of 1,026 bytes
    frame = _frame(chat)
    return Request("POST", "/library.v1.DebugService/Chat", GRPC_WEB, frame * (size // len(frame)))


def bad_base64(size: int) -> Request:
    """A body marked base64-encoded that is not."""
    return Request("POST", "/v1/shelves", JSON, b"!" * size, base64=True)


def good_base64(size: int) -> Request:
    body = orjson.dumps({"theme": "x" * max(1, size * 3 // 4 - 12)})
    return Request("POST", "/v1/shelves", JSON, base64.b64encode(body), base64=True)


SHAPES: tuple[Shape, ...] = (
    Shape("unknown-keys", "JSON object of unknown keys", unknown_keys, map_entries),
    Shape("wrong-elements", "JSON array of wrong-typed elements", wrong_elements, right_elements),
    Shape(
        "nested-problems", "small messages, each with a bad key", nested_problems, nested_messages
    ),
    Shape("deep-nesting", "messages nested past the depth limit", deep_nesting, deep_values),
    Shape("long-strings", "4 kB strings where numbers belong", long_wrong_strings, long_numbers),
    Shape("form-pairs", "form body x&x&x...", form_pairs, form_fields),
    Shape("ndjson-lines", "request stream of empty lines", ndjson_lines, ndjson_books),
    Shape("web-frames", "gRPC-Web stream of empty frames", web_frames, web_messages),
    Shape("bad-base64", "isBase64Encoded body that is not", bad_base64, good_base64),
)


def event(request: Request, source: Source = Source.HTTP_API) -> dict[str, Any]:
    """The Lambda event of `request` from `source`."""
    binary = request.content_type == GRPC_WEB
    made = build(
        source,
        request.method,
        request.path,
        headers=[("content-type", request.content_type)],
        body=request.body,
        binary=binary,
    )
    if request.base64:
        made["body"], made["isBase64Encoded"] = request.body.decode("latin-1"), True
    return made
