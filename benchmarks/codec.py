"""Micro-benchmark: the JSON codec against protobuf's json_format, side by side in one run.

`python -m benchmarks.codec [ITERATIONS]` prints microseconds per message for a ~20-field
`library.v1.Book` and a `library.v1.Kinds` holding every field kind: `encode` (message to JSON
value, vs json_format.MessageToDict), `decode` (parsed JSON to message, vs json_format.ParseDict),
and the text forms `dumps` (vs MessageToJson) and `parse` (orjson + decode, vs json_format.Parse),
each with the speedup. Each timing is the best of several rounds of ITERATIONS calls, in CPU
time of this process (so that other processes on a shared machine do not count), with the two
implementations alternating round by round.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_transcoder_tools import example_backend

from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry

ROUNDS = 15
DEFAULT_ITERATIONS = 400


def book(registry: Registry) -> Message:
    """A Book with every field set: scalars, timestamps, a Struct, a map and three reviews."""
    message: Any = registry.new_message("library.v1.Book")
    message.name = "shelves/fiction/books/dune"
    message.title = "Dune"
    message.subtitle = "Book one of the Dune chronicles"
    message.authors.extend(["Frank Herbert", "Brian Herbert"])
    message.genre = 1
    message.page_count = 412
    message.copies_sold = 20_000_000
    message.isbn = 9780441172719
    message.rating = 4.6
    message.price = 9.99
    message.available = True
    message.publish_time.FromSeconds(1_000_000_000)
    message.reading_time.FromSeconds(6 * 3600)
    message.labels.update({"series": "dune", "language": "en"})
    message.metadata.update({"language": "en", "awards": ["Hugo", "Nebula"], "printings": 3})
    message.publisher = "Chilton Books"
    message.edition.value = 2
    message.thumbnail = b"\x89PNG\r\n\x1a\n-thumbnail"
    for index in range(3):
        review = message.reviews.add(reader=f"reader-{index}", stars=5 - index, text="A classic.")
        review.create_time.FromSeconds(1_600_000_000 + index * 86_400)
    message.update_time.FromNanoseconds(1_700_000_000_123_000_000)
    return message  # type: ignore[no-any-return]


def kinds(registry: Registry) -> Message:
    """A Kinds with a value in most of its scalar, repeated, map and well-known fields."""
    message: Any = registry.new_message("library.v1.Kinds")
    message.f_double, message.f_float, message.f_int32, message.f_int64 = 1.5, 0.25, -7, 2**40
    message.f_uint32, message.f_uint64, message.f_sint32, message.f_sint64 = 7, 2**63, -3, -(2**50)
    message.f_fixed32, message.f_fixed64, message.f_sfixed32, message.f_sfixed64 = 9, 10, -11, -12
    message.f_bool, message.f_string, message.f_bytes = True, "text", b"\x00\x01binary"
    message.f_enum, message.f_genre = 2, 3
    message.f_nested.label, message.f_nested.count = "nested", 4
    message.opt_int32, message.opt_string = 0, "optional"
    message.r_double.extend([1.0, -2.5])
    message.r_int64.extend([1, -(2**62)])
    message.r_string.extend(["a", "b", "c"])
    message.r_enum.extend([1, 2])
    message.r_nested.add(label="first", count=1)
    message.m_string.update({"k": "v"})
    message.m_int64[-5] = "minus five"
    message.m_bool[True] = "yes"
    message.m_nested["n"].label = "in a map"
    message.c_string = "chosen"
    message.w_timestamp.FromNanoseconds(1_700_000_000_000_001_000)
    message.w_duration.FromNanoseconds(-1_500_000_000)
    message.w_field_mask.paths.extend(["f_string", "f_nested.label"])
    message.w_struct.update({"a": 1, "b": [True, None, "x"]})
    message.w_int64_value.value = 64
    message.w_string_value.value = "wrapped"
    message.custom_json = "custom"
    return message  # type: ignore[no-any-return]


def run(iterations: int) -> dict[str, Any]:
    """Timings in microseconds per message, per message type and operation, with speedups."""
    registry = example_backend.load_registry()
    codec = JsonCodec(registry.pool, JsonOptions())
    return {
        name: _measure(codec, registry, make(registry), iterations)
        for name, make in (("book", book), ("kinds", kinds))
    }


def _measure(
    codec: JsonCodec, registry: Registry, message: Message, iterations: int
) -> dict[str, dict[str, float]]:
    pool = registry.pool
    new = type(message)
    value = codec.encode(message)
    text = orjson.dumps(value)
    options: dict[str, Any] = {
        "always_print_fields_with_no_presence": True,
        "descriptor_pool": pool,
    }
    pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "encode": (
            lambda: codec.encode(message),
            lambda: json_format.MessageToDict(message, **options),
        ),
        "decode": (
            lambda: codec.decode(value, new()),
            lambda: json_format.ParseDict(value, new(), descriptor_pool=pool),
        ),
        "dumps": (
            lambda: codec.dumps(message),
            lambda: json_format.MessageToJson(message, indent=None, **options),
        ),
        "parse": (
            lambda: codec.decode(orjson.loads(text), new()),
            lambda: json_format.Parse(text, new(), descriptor_pool=pool),
        ),
    }
    return {name: _pair(ours, theirs, iterations) for name, (ours, theirs) in pairs.items()}


def _pair(
    ours: Callable[[], object], theirs: Callable[[], object], iterations: int
) -> dict[str, float]:
    ours(), theirs()  # compile converters and warm caches outside the timing
    best_ours = best_theirs = float("inf")
    for _ in range(ROUNDS):  # alternate, so that a busy moment does not favour either side
        best_ours = min(best_ours, _time(ours, iterations))
        best_theirs = min(best_theirs, _time(theirs, iterations))
    return {
        "codec_us": best_ours,
        "json_format_us": best_theirs,
        "speedup": best_theirs / best_ours,
    }


def _time(call: Callable[[], object], iterations: int) -> float:
    seconds = timeit.Timer(call, timer=time.process_time).timeit(number=iterations)
    return seconds / iterations * 1e6


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    iterations = int(args[0]) if args else DEFAULT_ITERATIONS
    results = run(iterations)
    print(f"{'message':8} {'operation':9} {'codec µs':>9} {'json_format µs':>15} {'speedup':>8}")
    for name, operations in results.items():
        for operation, row in operations.items():
            print(
                f"{name:8} {operation:9} {row['codec_us']:9.1f} "
                f"{row['json_format_us']:15.1f} {row['speedup']:7.1f}x"
            )


if __name__ == "__main__":
    main()
