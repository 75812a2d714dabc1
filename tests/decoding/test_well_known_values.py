"""well_known_values: Timestamp, Duration, FieldMask, wrappers and JSON types from one string."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.decoding import field_plans
from grpc_transcoder.decoding.field_values import ConversionError, Converter
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry


def convert_for(kinds: Descriptor, codec: JsonCodec, name: str) -> Converter:
    convert = field_plans.converter(kinds.fields_by_name[name], json=codec)
    assert convert is not None
    return convert


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        pytest.param(
            "w_timestamp", "2020-01-01T00:00:00Z", {"seconds": 1577836800}, id="timestamp"
        ),
        pytest.param(
            "w_timestamp",
            "2020-01-01T01:00:00.5+01:00",
            {"seconds": 1577836800, "nanos": 500_000_000},
            id="timestamp-offset",
        ),
        pytest.param(
            "w_timestamp",
            "2020-01-01T01:00:00 01:00",
            {"seconds": 1577836800},
            id="timestamp-unencoded-plus",
        ),
        pytest.param("w_duration", "1.5s", {"seconds": 1, "nanos": 500_000_000}, id="duration"),
        pytest.param("w_duration", "-2s", {"seconds": -2}, id="duration-negative"),
        pytest.param(
            "w_field_mask",
            "title,pageCount, book.updateTime",
            {"paths": ["title", "page_count", "book.update_time"]},
            id="field-mask-json-names",
        ),
        pytest.param(
            "w_field_mask", "page_count", {"paths": ["page_count"]}, id="field-mask-proto-names"
        ),
        pytest.param("w_field_mask", "", {}, id="field-mask-empty"),
        pytest.param("w_int64_value", "-42", {"value": -42}, id="int64-wrapper"),
        pytest.param(
            "w_uint64_value", "18446744073709551615", {"value": 2**64 - 1}, id="uint64-wrapper"
        ),
        pytest.param("w_bool_value", "false", {}, id="bool-wrapper-false"),
        pytest.param("w_string_value", "a,b", {"value": "a,b"}, id="string-wrapper"),
        pytest.param("w_bytes_value", "YQ", {"value": b"a"}, id="bytes-wrapper"),
        pytest.param("w_double_value", "NaN", None, id="double-wrapper-nan"),
    ],
)
def test_well_known_types_by_their_json_strings(
    kinds: Descriptor, codec: JsonCodec, field: str, text: str, expected: dict[str, Any] | None
) -> None:
    value = convert_for(kinds, codec, field)(text)
    assert isinstance(value, Message)
    if expected is not None:
        assert value == type(value)(**expected)


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        pytest.param(
            "w_struct", '{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}, id="struct"
        ),
        pytest.param("w_value", '"hello"', "hello", id="value-string"),
        pytest.param("w_value", "12.5", 12.5, id="value-number"),
        pytest.param("w_value", "null", None, id="value-null"),
        pytest.param("w_list_value", '[1, "a"]', [1, "a"], id="list-value"),
        pytest.param("w_empty", "{}", {}, id="empty"),
        pytest.param(
            "w_any",
            '{"@type": "type.googleapis.com/library.v1.Shelf", "theme": "Poetry"}',
            {"@type": "type.googleapis.com/library.v1.Shelf", "theme": "Poetry"},
            id="any-from-the-loaded-descriptors",
        ),
    ],
)
def test_json_types_from_json_text(
    registry: Registry, kinds: Descriptor, codec: JsonCodec, field: str, text: str, expected: Any
) -> None:
    value = convert_for(kinds, codec, field)(text)
    assert JsonCodec(registry.pool, JsonOptions(omit_unpopulated=True)).encode(value) == expected


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        pytest.param("w_timestamp", "yesterday", "a Timestamp (RFC 3339", id="timestamp"),
        pytest.param("w_timestamp", "2020-01-01", "a Timestamp (RFC 3339", id="timestamp-date"),
        pytest.param(
            "w_timestamp", "0001-01-01T00:00:00+01:00", "a Timestamp (RFC 3339", id="before-year-1"
        ),
        pytest.param(
            "w_timestamp", "9999-12-31T23:59:59-01:00", "a Timestamp (RFC 3339", id="after-9999"
        ),
        pytest.param("w_duration", "1.5", "a Duration (seconds", id="duration-no-unit"),
        pytest.param("w_field_mask", "a..b", "a FieldMask", id="field-mask-bad-path"),
        pytest.param("w_int32_value", "x", "int32 (", id="int32-wrapper"),
        pytest.param("w_value", "hello", "a google.protobuf.Value as JSON", id="value-bare-word"),
        pytest.param("w_struct", "[1]", "a google.protobuf.Struct as JSON", id="struct-array"),
        pytest.param(
            "w_any",
            '{"@type": "type.googleapis.com/no.Such"}',
            "a google.protobuf.Any as JSON",
            id="any-unknown-type",
        ),
        pytest.param("w_any", '{"@type": 5}', "a google.protobuf.Any as JSON", id="any-odd-type"),
        pytest.param("w_list_value", '{"a": 1}', "a google.protobuf.ListValue", id="list-object"),
    ],
)
def test_bad_well_known_values(
    kinds: Descriptor, codec: JsonCodec, field: str, text: str, expected: str
) -> None:
    with pytest.raises(ConversionError) as caught:
        convert_for(kinds, codec, field)(text)
    assert caught.value.expected.startswith(expected)
    assert str(caught.value).startswith(expected)


def test_plain_messages_have_no_converter(kinds: Descriptor, codec: JsonCodec) -> None:
    assert field_plans.converter(kinds.fields_by_name["f_nested"], json=codec) is None


# Differential: Timestamps read as Timestamp.FromJsonString reads them (which is json_format's).

_RFC3339_LIKE = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,10})?(Z|[+-][0-9]{2}:[0-9]{2})",
    fullmatch=True,
)
_REAL_TIMES = st.builds(
    lambda moment, digits, offset: (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "")
        + offset
    ),
    st.datetimes(),
    st.integers(0, 6),
    st.sampled_from(["Z", "+00:00", "-00:30", "+05:45", "-12:00", "+14:00"]),
)


@settings(max_examples=500, deadline=None)
@given(text=_RFC3339_LIKE | _REAL_TIMES)
def test_timestamps_agree_with_from_json_string(registry: Registry, text: str) -> None:
    kinds = registry.pool.FindMessageTypeByName("library.v1.Kinds")
    convert = convert_for(kinds, JsonCodec(registry.pool, JsonOptions()), "w_timestamp")
    timestamp = registry.pool.FindMessageTypeByName("google.protobuf.Timestamp")
    reference: Any = message_factory.GetMessageClass(timestamp)()
    try:
        reference.FromJsonString(text)
    except ValueError:
        reference = None
    try:
        ours: Any = convert(text)
    except ConversionError:
        ours = None
    assert ours == reference
