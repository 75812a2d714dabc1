"""field_values: one string into one scalar value, checked against protobuf's json_format."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grpc_transcoder.decoding import field_plans, field_values
from grpc_transcoder.decoding.field_values import ConversionError, Converter
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry

INT32 = (-(2**31), 2**31 - 1)
UINT64 = (0, 2**64 - 1)
INT64 = (-(2**63), 2**63 - 1)


def convert_for(kinds: Descriptor, codec: JsonCodec, name: str, **options: Any) -> Converter:
    convert = field_plans.converter(kinds.fields_by_name[name], json=codec, **options)
    assert convert is not None
    return convert


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        pytest.param("f_int32", "2147483647", 2**31 - 1, id="int32-max"),
        pytest.param("f_int32", "-2147483648", -(2**31), id="int32-min"),
        pytest.param("f_int32", "+5", 5, id="int32-plus-sign"),
        pytest.param("f_int32", "1e3", 1000, id="int32-exponent-integral"),
        pytest.param("f_int32", "10.0", 10, id="int32-integral-decimal"),
        pytest.param("f_int32", "0e999", 0, id="int32-zero-with-huge-exponent"),
        pytest.param("f_int64", "-9223372036854775808", -(2**63), id="int64-min-exact"),
        pytest.param("f_int64", "9007199254740993", 2**53 + 1, id="int64-beyond-double"),
        pytest.param("f_uint64", "18446744073709551615", 2**64 - 1, id="uint64-max-exact"),
        pytest.param("f_sint32", "-7", -7, id="sint32"),
        pytest.param("f_fixed32", "4294967295", 2**32 - 1, id="fixed32-max"),
        pytest.param("f_sfixed64", "-1", -1, id="sfixed64"),
        pytest.param("f_double", "1.5", 1.5, id="double"),
        pytest.param("f_double", "-.5e-3", -0.0005, id="double-exponent"),
        pytest.param("f_double", "Infinity", math.inf, id="double-infinity"),
        pytest.param("f_double", "-Infinity", -math.inf, id="double-negative-infinity"),
        pytest.param("f_float", "3.4e38", 3.4e38, id="float-near-max"),
        pytest.param("f_bool", "true", True, id="bool-true"),
        pytest.param("f_bool", "false", False, id="bool-false"),
        pytest.param("f_string", "a b+c/é", "a b+c/é", id="string-as-is"),
        pytest.param("f_bytes", "YQ==", b"a", id="bytes-padded"),
        pytest.param("f_bytes", "YQ", b"a", id="bytes-unpadded"),
        pytest.param("f_bytes", "-_8", b"\xfb\xff", id="bytes-url-safe"),
        pytest.param("f_bytes", "+/8", b"\xfb\xff", id="bytes-standard"),
        pytest.param("f_bytes", " /8", b"\xfb\xff", id="bytes-unencoded-plus-became-space"),
        pytest.param("f_enum", "HIGH", 2, id="enum-name"),
        pytest.param("f_enum", "1", 1, id="enum-number"),
        pytest.param("f_enum", "42", 42, id="open-enum-unknown-number"),
        pytest.param("w_null", "null", 0, id="null-value-null"),
        pytest.param("w_null", "NULL_VALUE", 0, id="null-value-name"),
    ],
)
def test_scalar_values(
    kinds: Descriptor, codec: JsonCodec, field: str, text: str, expected: Any
) -> None:
    assert convert_for(kinds, codec, field)(text) == expected


def test_nan(kinds: Descriptor, codec: JsonCodec) -> None:
    assert math.isnan(convert_for(kinds, codec, "f_double")("NaN"))


@pytest.mark.parametrize(
    ("field", "text", "expected", "detail"),
    [
        pytest.param("f_int32", "2147483648", "int32 (", "out of range", id="int32-over"),
        pytest.param("f_uint32", "-1", "uint32 (", "out of range", id="uint32-negative"),
        pytest.param("f_int64", str(2**63), "int64 (", "out of range", id="int64-over"),
        pytest.param("f_uint64", str(2**64), "uint64 (", "out of range", id="uint64-over"),
        pytest.param("f_int32", "1.5", "int32 (", "not a whole number", id="int32-fraction"),
        pytest.param("f_int32", "1e999999", "int32 (", "out of range", id="huge-exponent"),
        pytest.param("f_int64", "9" * 5000, "int64 (", "out of range", id="five-thousand-digits"),
        pytest.param("f_int32", " 1", "int32 (", "", id="int32-space"),
        pytest.param("f_int32", "1_0", "int32 (", "", id="int32-underscore"),
        pytest.param("f_int32", "0x10", "int32 (", "", id="int32-hex"),
        pytest.param("f_int32", "\u0661", "int32 (", "", id="int32-arabic-digit"),
        pytest.param("f_int32", "", "int32 (", "", id="int32-empty"),
        pytest.param("f_double", "1e400", "a double", "out of range", id="double-overflow"),
        pytest.param("f_float", "3.5e38", "a float", "out of range", id="float-overflow"),
        pytest.param("f_double", "inf", "a double", "", id="double-lowercase-inf"),
        pytest.param("f_double", "nan", "a double", "", id="double-lowercase-nan"),
        pytest.param("f_double", "1_0", "a double", "", id="double-underscore"),
        pytest.param("f_bool", "True", "a bool (true or false)", "", id="bool-capitalised"),
        pytest.param("f_bool", "1", "a bool (true or false)", "", id="bool-number"),
        pytest.param("f_bytes", "Y", "bytes (standard", "bad length", id="bytes-bad-length"),
        pytest.param("f_bytes", "!!", "bytes (standard", "", id="bytes-bad-characters"),
        pytest.param("f_enum", "low", "a library.v1.Kinds.Level", "", id="enum-wrong-case"),
        pytest.param("f_enum", "1.0", "a library.v1.Kinds.Level", "", id="enum-decimal-number"),
        pytest.param("f_enum", "4294967296", "a library.v1.Kinds.Level", "", id="enum-over"),
    ],
)
def test_rejected_values(
    kinds: Descriptor, codec: JsonCodec, field: str, text: str, expected: str, detail: str
) -> None:
    with pytest.raises(ConversionError) as caught:
        convert_for(kinds, codec, field)(text)
    assert caught.value.expected.startswith(expected)
    assert caught.value.detail.startswith(detail)


def test_enum_names_in_any_case_when_asked(kinds: Descriptor, codec: JsonCodec) -> None:
    convert = convert_for(kinds, codec, "f_genre", enum_case_insensitive=True)
    assert convert("non_fiction") == 2
    assert convert("Poetry") == 3
    assert convert("NON_FICTION") == 2


def test_the_enum_message_lists_names(kinds: Descriptor, codec: JsonCodec) -> None:
    with pytest.raises(ConversionError) as caught:
        convert_for(kinds, codec, "f_genre")("Romance")
    assert caught.value.expected == (
        "a library.v1.Genre (GENRE_UNSPECIFIED, FICTION, NON_FICTION, POETRY, SCIENCE, or a number)"
    )


def closed_enum() -> Any:
    """A proto2 enum, whose unknown numbers are errors."""
    file = descriptor_pb2.FileDescriptorProto(name="closed.proto", package="c", syntax="proto2")
    enum = file.enum_type.add(name="Color")
    for number, name in enumerate(("RED", "GREEN", "BLUE", "CYAN", "MAGENTA", "YELLOW", "BLACK")):
        enum.value.add(name=name, number=number)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool.FindEnumTypeByName("c.Color")


def test_a_closed_enum_rejects_unknown_numbers() -> None:
    convert = field_values.enum_converter(closed_enum())
    assert convert("6") == 6
    with pytest.raises(ConversionError) as caught:
        convert("7")
    assert caught.value.detail == "not a value of this closed enum"
    assert (
        caught.value.expected
        == "a c.Color (RED, GREEN, BLUE, CYAN, MAGENTA, YELLOW, ..., or a number)"
    )


# -- properties -------------------------------------------------------------------------------

CONVERTIBLE = [
    "f_double", "f_float", "f_int32", "f_int64", "f_uint32", "f_uint64", "f_sint64",
    "f_fixed64", "f_sfixed32", "f_bool", "f_string", "f_bytes", "f_enum", "w_null",
    "w_timestamp", "w_duration", "w_field_mask", "w_struct", "w_value", "w_list_value",
    "w_any", "w_empty", "w_float_value", "w_uint32_value", "w_bytes_value",
]  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(CONVERTIBLE), text=st.text(max_size=40))
def test_any_string_is_a_value_or_a_conversion_error(
    kinds: Descriptor, codec: JsonCodec, field: str, text: str
) -> None:
    convert = convert_for(kinds, codec, field)
    try:
        convert(text)
    except ConversionError as exc:
        expected = exc.expected
        assert expected


# Differential: every value protobuf prints as proto3 JSON reads back to the same value.

_FIELD_MASK_PATH = st.from_regex(r"[a-z]{1,6}(_[a-z]{1,6}){0,2}(\.[a-z]{1,6}){0,2}", fullmatch=True)
_JSON_LEAF = st.none() | st.booleans() | st.text(max_size=8) | st.integers(-(10**6), 10**6)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _floats(width: Any = 64) -> st.SearchStrategy[float]:
    # Every NaN prints as "NaN", which reads back as the one canonical NaN.
    return st.floats(width=width).map(lambda f: math.nan if math.isnan(f) else f)


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "f_double": _floats(),
    "f_float": _floats(32),
    "f_int32": st.integers(*INT32),
    "f_int64": st.integers(*INT64),
    "f_uint32": st.integers(0, 2**32 - 1),
    "f_uint64": st.integers(*UINT64),
    "f_sint32": st.integers(*INT32),
    "f_sint64": st.integers(*INT64),
    "f_fixed32": st.integers(0, 2**32 - 1),
    "f_fixed64": st.integers(*UINT64),
    "f_sfixed32": st.integers(*INT32),
    "f_sfixed64": st.integers(*INT64),
    "f_bool": st.booleans(),
    "f_string": st.text(),
    "f_bytes": st.binary(),
    "f_enum": st.integers(*INT32),
    "w_timestamp": st.fixed_dictionaries(
        {"seconds": st.integers(-62135596800, 253402300799), "nanos": st.integers(0, 999_999_999)}
    ),
    "w_duration": st.integers(-315576000000 * 10**9, 315576000000 * 10**9),
    "w_field_mask": st.lists(_FIELD_MASK_PATH, max_size=4),
    "w_struct": st.dictionaries(st.text(max_size=5), _JSON, max_size=4),
    "w_value": _JSON,
    "w_list_value": st.lists(_JSON, max_size=4),
    "w_int64_value": st.integers(*INT64),
    "w_float_value": _floats(32),
    "w_bool_value": st.booleans(),
    "w_bytes_value": st.binary(),
}


def _set(message: Any, field: str, value: Any) -> None:
    target: Any = getattr(message, field) if field.startswith("w_") else None
    if field == "w_timestamp":
        target.seconds, target.nanos = value["seconds"], value["nanos"]
    elif field == "w_duration":
        target.FromNanoseconds(value)
    elif field == "w_field_mask":
        target.paths.extend(value)
    elif field in ("w_struct", "w_value", "w_list_value"):
        json_format.ParseDict(value, target)
    elif target is not None:
        target.value = value
    else:
        setattr(message, field, value)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_every_printed_json_value_reads_back(registry: Registry, data: st.DataObject) -> None:
    kinds = registry.pool.FindMessageTypeByName("library.v1.Kinds")
    codec = JsonCodec(registry.pool, JsonOptions())
    cls = message_factory.GetMessageClass(kinds)
    field = data.draw(st.sampled_from(sorted(VALUES)))
    original = cls()
    _set(original, field, data.draw(VALUES[field]))
    printed = json_format.MessageToDict(
        original, always_print_fields_with_no_presence=True, descriptor_pool=registry.pool
    )[kinds.fields_by_name[field].json_name]
    as_json = field in ("w_struct", "w_value", "w_list_value")
    text = printed if isinstance(printed, str) and not as_json else _json_text(printed)
    value = convert_for(kinds, codec, field)(text)
    copy = cls()
    if isinstance(value, Message):
        getattr(copy, field).CopyFrom(value)
    else:
        setattr(copy, field, value)
    assert copy.SerializeToString(deterministic=True) == original.SerializeToString(
        deterministic=True
    )


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    import orjson

    return orjson.dumps(value).decode()


# Differential: on number-like strings, a value we accept is the value json_format reads.

_NUMBER_LIKE = st.from_regex(
    r"[+-]?[0-9]{0,22}(\.[0-9]{0,6})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
)
_NUMERIC = ["f_int32", "f_int64", "f_uint32", "f_uint64", "f_double", "f_float"]


@settings(max_examples=500, deadline=None)
@given(field=st.sampled_from(_NUMERIC), text=_NUMBER_LIKE)
def test_number_strings_agree_with_json_format(registry: Registry, field: str, text: str) -> None:
    kinds = registry.pool.FindMessageTypeByName("library.v1.Kinds")
    codec = JsonCodec(registry.pool, JsonOptions())
    cls = message_factory.GetMessageClass(kinds)
    is_integer = kinds.fields_by_name[field].cpp_type not in (
        FieldDescriptor.CPPTYPE_DOUBLE,
        FieldDescriptor.CPPTYPE_FLOAT,
    )
    if is_integer and not text.lstrip("+-").isdigit() and _rounds_as_double(text):
        return  # json_format reads "1e-400" or "1.00000000000000001e20" through a double
    try:
        theirs: Any = getattr(json_format.ParseDict({field: text}, cls()), field)
    except (json_format.ParseError, ValueError, OverflowError):
        theirs = None
    try:
        ours = cls()
        setattr(ours, field, convert_for(kinds, codec, field)(text))
    except ConversionError:
        # We refuse only what json_format accepts by overflowing to infinity.
        assert theirs is None or math.isinf(theirs)
    else:
        assert theirs == getattr(ours, field)


def _rounds_as_double(text: str) -> bool:
    try:
        return Decimal(float(text)) != Decimal(text)
    except (InvalidOperation, ValueError):
        return False  # not a number at all; both sides must refuse it
