"""The fast paths of the codec's text forms against protobuf's own implementations.

Timestamps, durations and field masks (json_wellknown_text) and float32 printing
(json_scalars) take shortcuts for speed; these properties check that any input gives what
protobuf's well_known_types and json_format give: the same value or the same refusal.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from google.protobuf.internal import type_checkers
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grpc_transcoder.json import scalars as json_scalars
from grpc_transcoder.json import wellknown_text as json_wellknown_text
from grpc_transcoder.json.wellknown_text import TIMESTAMP_MAX, TIMESTAMP_MIN
from grpc_transcoder.loading.registry import Registry

SETTINGS = settings(max_examples=400, deadline=None)
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=4)


def _protobuf(registry: Registry, name: str) -> Any:
    return registry.new_message(f"google.protobuf.{name}")


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except (ValueError, OverflowError) as exc:
        return "error", type(exc)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    """Mostly canonical RFC 3339 shapes with random digits, sometimes a random variation."""
    year = draw(st.sampled_from(["0000", "0001", "1969", "1970", "2024", "9999"]) | DIGITS)
    parts = [draw(DIGITS) for _ in range(5)]
    fraction = draw(st.sampled_from(["", ".", ".5", ".123456789", ".1234567890"]) | DIGITS)
    offset = draw(st.sampled_from(["Z", "+00:00", "-23:59", "+05:30", "z", "", "+5:3"]))
    separator = draw(st.sampled_from(["T", "T", "t", " "]))
    month, day, hour, minute, second = (p.zfill(2) if len(p) < 2 else p for p in parts)
    text = f"{year}-{month}-{day}{separator}{hour}:{minute}:{second}"
    if fraction and fraction[0] != ".":
        fraction = "." + fraction
    return text + fraction + offset


@SETTINGS
@given(text=timestamp_texts() | st.text(max_size=30))
@example(text="2020-02-29T23:59:59.999999999Z")
@example(text="9999-12-31T23:59:59Z")
@example(text="9999-12-31T23:59:59-00:01")
@example(text="0001-01-01T00:00:00+00:01")
@example(text="2020-01-01T00:00:00")
@example(text="2020-01-01T00:00:00+5:30")
@example(text="2020-1-1T00:00:00Z")
@example(text="2020-01-01T24:00:00Z")
def test_timestamp_strings_read_as_protobuf_reads_them(registry: Registry, text: str) -> None:
    ours, theirs = _protobuf(registry, "Timestamp"), _protobuf(registry, "Timestamp")

    def fast() -> tuple[int, int]:
        parsed = json_wellknown_text.parse_timestamp(text)
        if parsed is None:
            ours.FromJsonString(text)
            return ours.seconds, ours.nanos
        return parsed

    def reference() -> tuple[int, int]:
        theirs.FromJsonString(text)
        return theirs.seconds, theirs.nanos

    assert _outcome(fast) == _outcome(reference)


@SETTINGS
@given(
    seconds=st.integers(TIMESTAMP_MIN - 2, TIMESTAMP_MAX + 2),
    nanos=st.integers(0, 999_999_999) | st.sampled_from([0, 1000, 5_000_000, -1, 10**9]),
)
def test_timestamps_print_as_protobuf_prints_them(
    registry: Registry, seconds: int, nanos: int
) -> None:
    message = _protobuf(registry, "Timestamp")
    message.seconds, message.nanos = seconds, nanos
    ours = _outcome(lambda: json_wellknown_text.format_timestamp(message))
    assert ours == _outcome(message.ToJsonString)


DURATION_MAX = 315576000000


@SETTINGS
@given(
    seconds=st.integers(-DURATION_MAX - 2, DURATION_MAX + 2),
    nanos=st.integers(-(10**9), 10**9) | st.sampled_from([0, -1000, 5_000_000]),
)
def test_durations_print_and_read_as_protobuf_does(
    registry: Registry, seconds: int, nanos: int
) -> None:
    message = _protobuf(registry, "Duration")
    message.seconds, message.nanos = seconds, nanos
    printed = _outcome(lambda: json_wellknown_text.format_duration(message))
    assert printed == _outcome(message.ToJsonString)
    if printed[0] == "ok":
        assert json_wellknown_text.parse_duration(printed[1]) == (seconds, nanos)


@SETTINGS
@given(
    text=st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{0,11})?s", fullmatch=True)
    | st.text(alphabet="0123456789.-+s e_", max_size=16)
)
@example(text="1.9999999999s")
@example(text="0.1e999s")
def test_duration_strings_read_as_protobuf_reads_them(registry: Registry, text: str) -> None:
    reference = _protobuf(registry, "Duration")

    def theirs() -> tuple[int, int]:
        reference.FromJsonString(text)
        return reference.seconds, reference.nanos

    ours = _outcome(lambda: json_wellknown_text.parse_duration(text))
    assert ours[0] == _outcome(theirs)[0]
    if ours[0] == "ok":
        assert ours == _outcome(theirs)


PATH = st.text(alphabet="abcXY_.1é", max_size=8)


@SETTINGS
@given(paths=st.lists(PATH, max_size=3))
def test_field_masks_print_as_protobuf_prints_them(registry: Registry, paths: list[str]) -> None:
    message = _protobuf(registry, "FieldMask")
    message.paths.extend(paths)
    ours = _outcome(lambda: json_wellknown_text.format_field_mask(message))
    assert ours == _outcome(message.ToJsonString)


@SETTINGS
@given(text=st.text(alphabet="abcXY_.,1é", max_size=12) | st.just(5))
def test_field_mask_strings_read_as_protobuf_reads_them(registry: Registry, text: Any) -> None:
    ours, theirs = _protobuf(registry, "FieldMask"), _protobuf(registry, "FieldMask")
    ours.paths.append("stale")  # both replace what was there
    theirs.paths.append("stale")

    def fast() -> list[str]:
        json_wellknown_text.parse_field_mask(ours, text)
        return list(ours.paths)

    def reference() -> list[str]:
        theirs.FromJsonString(text)
        return list(theirs.paths)

    assert _outcome(fast) == _outcome(reference)


@SETTINGS
@given(value=st.floats(width=32))
@example(value=float.fromhex("0x1.fffffep+127"))
@example(value=-0.0)
@example(value=struct.unpack("<f", struct.pack("<I", 1))[0])  # the smallest subnormal
def test_float32_values_print_as_their_shortest_decimal(value: float) -> None:
    expected = value if value - value != 0.0 or not value else type_checkers.ToShortestFloat(value)
    for _ in range(2):  # computed, then memoized
        printed = json_scalars.print_float(value)
        if isinstance(printed, str):
            assert printed == (
                "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}Infinity"
            )
        else:
            assert struct.pack("<d", printed) == struct.pack("<d", expected)


def test_a_double_that_is_no_float32_prints_as_itself() -> None:
    assert json_scalars.print_float(0.1) == 0.1  # float fields never hold it: no endless search


def test_the_float_memo_is_bounded() -> None:
    json_scalars._SHORTEST.clear()
    for index in range(json_scalars._MAX_SHORTEST + 5):
        json_scalars.print_float(struct.unpack("<f", struct.pack("<I", 0x3F800000 + index))[0])
    assert len(json_scalars._SHORTEST) <= json_scalars._MAX_SHORTEST


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0, "1970-01-01T00:00:00Z", id="epoch"),
        pytest.param(-1, "1969-12-31T23:59:59Z", id="before-epoch"),
        pytest.param(TIMESTAMP_MIN, "0001-01-01T00:00:00Z", id="min"),
        pytest.param(TIMESTAMP_MAX, "9999-12-31T23:59:59Z", id="max"),
    ],
)
def test_timestamp_text_edges(registry: Registry, seconds: int, expected: str) -> None:
    message = _protobuf(registry, "Timestamp")
    message.seconds = seconds
    assert json_wellknown_text.format_timestamp(message) == expected
    assert json_wellknown_text.parse_timestamp(expected) == (seconds, 0)


def test_the_date_caches_are_bounded(registry: Registry) -> None:
    message = _protobuf(registry, "Timestamp")
    for day in range(json_wellknown_text._MAX_DATES + 5):
        message.seconds = day * 86400 + 61
        text = json_wellknown_text.format_timestamp(message)
        assert json_wellknown_text.parse_timestamp(text) == (day * 86400 + 61, 0)
    assert len(json_wellknown_text._MINUTES) <= json_wellknown_text._MAX_MINUTES
    assert len(json_wellknown_text._DAY_NUMBERS) <= json_wellknown_text._MAX_DATES


def test_the_field_mask_path_cache_is_bounded(registry: Registry) -> None:
    message = _protobuf(registry, "FieldMask")
    for start in range(0, json_wellknown_text._MAX_PATHS + 100, 50):
        message.paths[:] = [f"item_n{number}" for number in range(start, start + 50)]
        printed = json_wellknown_text.format_field_mask(message)
        assert printed.split(",")[0] == f"itemN{start}"
        assert len(json_wellknown_text._CAMEL_PATHS) <= json_wellknown_text._MAX_PATHS
    message.paths[:] = ["Upper_case"]  # not converted (nor cached): protobuf refuses it
    with pytest.raises(ValueError, match="Upper_case"):
        json_wellknown_text.format_field_mask(message)
    assert "Upper_case" not in json_wellknown_text._CAMEL_PATHS


def test_a_cached_minute_still_checks_the_nanos(registry: Registry) -> None:
    message = _protobuf(registry, "Timestamp")
    message.seconds = 1_700_000_000
    assert json_wellknown_text.format_timestamp(message) == "2023-11-14T22:13:20Z"
    for nanos, text in ((1, ".000000001"), (21_000, ".000021"), (999_000_000, ".999")):
        message.nanos = nanos
        assert json_wellknown_text.format_timestamp(message) == f"2023-11-14T22:13:20{text}Z"
    message.nanos = -1
    with pytest.raises(ValueError, match="out of range"):
        json_wellknown_text.format_timestamp(message)
