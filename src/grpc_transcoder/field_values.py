"""Field values: typed conversion of one path or query string into the value of one field.

Input: a FieldDescriptor (once, when its message type is first compiled). Output: a `Converter`
that turns a string into a Python scalar or a well-known-type message, or raises ConversionError.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import struct
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import orjson
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.errors import FieldViolation, RequestError

logger = logging.getLogger(__name__)

Converter = Callable[[str], Any]


class JsonDecoder(Protocol):
    """What the well-known JSON types need from the codec (`json_codec.JsonCodec` fits)."""

    def decode(self, value: Any, message: Message, *, field_path: str = "") -> None: ...


def decode_json(json: JsonDecoder, value: Any, message: Message, *, field_path: str = "") -> None:
    """`json.decode`, with any other failure than RequestError turned into one and logged.

    The codec promises RequestError; this keeps a codec bug on odd input (such as a number
    for `@type`) a 400 for that client rather than a 500.
    """
    try:
        json.decode(value, message, field_path=field_path)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        name = message.DESCRIPTOR.full_name
        logger.warning("the JSON codec failed on a %s value: %r", name, exc, exc_info=True)
        problem = f"invalid JSON for {name}: {exc}"
        raise RequestError(problem, violations=[FieldViolation(field_path, problem)]) from None


class ConversionError(ValueError):
    """A string is not a value of the field's type; `expected` names the type and its form."""

    def __init__(self, expected: str, detail: str = "") -> None:
        super().__init__(expected if not detail else f"{expected} ({detail})")
        self.expected = expected
        self.detail = detail


_FLOAT32 = struct.Struct("<f")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
# Proto3 JSON accepts integral numbers in any notation ("1e3", "10.0") for integer fields.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")
_MAX_NUMBER_CHARS = 400  # longer literals cannot be in range and would only cost time

_INTEGER_RANGES: dict[int, tuple[str, int, int]] = {
    FieldDescriptor.TYPE_INT32: ("int32", -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: ("sint32", -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: ("sfixed32", -(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: ("int64", -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: ("sint64", -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: ("sfixed64", -(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: ("uint32", 0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: ("fixed32", 0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: ("uint64", 0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: ("fixed64", 0, 2**64 - 1),
}

WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
JSON_TYPES = frozenset(
    f"google.protobuf.{name}" for name in ("Struct", "Value", "ListValue", "Any", "Empty")
)
TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
FIELD_MASK = "google.protobuf.FieldMask"
NULL_VALUE = "google.protobuf.NullValue"
# Message types set from one string (their proto3 JSON form); never traversed with '.'.
STRING_FORM_TYPES = WRAPPERS | JSON_TYPES | {TIMESTAMP, DURATION, FIELD_MASK}


def converter(
    field: FieldDescriptor, *, json: JsonDecoder, enum_case_insensitive: bool = False
) -> Converter | None:
    """The converter for a field's values, or None for messages that are not well-known types.

    `enum_case_insensitive` (default off, as in grpc-gateway) accepts enum names in any case.
    """
    if field.message_type is not None:
        return message_converter(field.message_type, json=json)
    if field.enum_type is not None:
        return enum_converter(field.enum_type, case_insensitive=enum_case_insensitive)
    return scalar_converter(field.type)


def scalar_converter(field_type: int) -> Converter:
    """Converter for a scalar field type (FieldDescriptor.TYPE_*), enums excepted."""
    if field_type in _INTEGER_RANGES:
        return integer_converter(*_INTEGER_RANGES[field_type])
    simple: dict[int, Converter] = {
        FieldDescriptor.TYPE_DOUBLE: convert_double,
        FieldDescriptor.TYPE_FLOAT: convert_float,
        FieldDescriptor.TYPE_BOOL: convert_bool,
        FieldDescriptor.TYPE_STRING: str,
        FieldDescriptor.TYPE_BYTES: convert_bytes,
    }
    return simple[field_type]


def integer_converter(type_name: str, low: int, high: int) -> Converter:
    """Exact integers in [low, high]; integral numbers in other notations ("1e3") too."""
    expected = f"{type_name} ({low} to {high})"

    def convert(text: str) -> int:
        if len(text) > _MAX_NUMBER_CHARS:
            raise ConversionError(expected, "out of range")
        value = int(text) if _INTEGER.match(text) else _integral(text, expected)
        if not low <= value <= high:
            raise ConversionError(expected, "out of range")
        return value

    return convert


def _integral(text: str, expected: str) -> int:
    if not _NUMBER.match(text):
        raise ConversionError(expected)
    number = Decimal(text)
    if number.adjusted() > 20 and number:  # beyond 64 bits; spares int() a huge exponent
        raise ConversionError(expected, "out of range")
    if number != number.to_integral_value():
        raise ConversionError(expected, "not a whole number")
    return int(number)


def convert_double(text: str) -> float:
    return _float(text, "double")


def convert_float(text: str) -> float:
    value = _float(text, "float")
    try:
        _FLOAT32.pack(value)  # fails exactly when the value would round to infinity
    except OverflowError:
        raise ConversionError(_float_expected("float"), "out of range") from None
    return value


def _float(text: str, type_name: str) -> float:
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if len(text) > _MAX_NUMBER_CHARS or not _NUMBER.match(text):
        raise ConversionError(_float_expected(type_name))
    value = float(text)
    if math.isinf(value):
        raise ConversionError(_float_expected(type_name), "out of range")
    return value


def _float_expected(type_name: str) -> str:
    return f"a {type_name} (a number, NaN, Infinity or -Infinity)"


def convert_bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise ConversionError("a bool (true or false)")


def convert_bytes(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional.

    A space becomes '+': an unencoded '+' in a query string arrives as a space, and a space is
    never part of base64, so nothing else can be meant.
    """
    standard = text.replace(" ", "+").replace("-", "+").replace("_", "/")
    if len(standard.rstrip("=")) % 4 == 1:
        raise ConversionError(_BYTES, "bad length")
    standard += "=" * (-len(standard) % 4)
    if not _BASE64.match(standard):
        raise ConversionError(_BYTES)
    # The pattern and the length check leave nothing b64decode could reject.
    return base64.b64decode(standard, validate=True)


_BYTES = "bytes (standard or URL-safe base64)"


def enum_converter(enum_type: EnumDescriptor, *, case_insensitive: bool = False) -> Converter:
    """Enum values by name or number; open (proto3) enums accept any int32 number."""
    names = {value.name: value.number for value in enum_type.values}
    folded = {name.lower(): number for name, number in names.items()} if case_insensitive else {}
    if enum_type.full_name == NULL_VALUE:
        names["null"] = 0
    numbers = None if not enum_type.is_closed else frozenset(names.values())
    listed = ", ".join(list(names)[:6]) + (", ..." if len(names) > 6 else "")
    expected = f"a {enum_type.full_name} ({listed}, or a number)"

    def convert(text: str) -> int:
        number = names.get(text)
        if number is None and folded:
            number = folded.get(text.lower())
        if number is not None:
            return number
        # Numbers in decimal only, as protobuf's json_format reads enum numbers.
        if len(text) > 11 or not _INTEGER.match(text) or not -(2**31) <= int(text) < 2**31:
            raise ConversionError(expected)
        if numbers is not None and int(text) not in numbers:
            raise ConversionError(expected, "not a value of this closed enum")
        return int(text)

    return convert


def message_converter(descriptor: Descriptor, *, json: JsonDecoder) -> Converter | None:
    """Converter for a well-known type written as one string; None for other messages."""
    name = descriptor.full_name
    cls = message_factory.GetMessageClass(descriptor)
    if name in (TIMESTAMP, DURATION):
        return _from_json_string(cls, _TEMPORAL_FORMS[name])
    if name == FIELD_MASK:
        return _field_mask(cls)
    if name in WRAPPERS:
        inner = scalar_converter(descriptor.fields_by_name["value"].type)
        return lambda text: cls(value=inner(text))
    if name in JSON_TYPES:
        return _json_text(cls, json)
    return None


_TEMPORAL_FORMS = {
    TIMESTAMP: "a Timestamp (RFC 3339, such as 2024-05-01T12:00:00Z)",
    DURATION: "a Duration (seconds with an s suffix, such as 1.5s)",
}


def _from_json_string(cls: type[Message], expected: str) -> Converter:
    fast = _timestamp if cls.DESCRIPTOR.full_name == TIMESTAMP else None

    def convert(text: str) -> Message:
        if fast is not None and (seconds_nanos := fast(text)) is not None:
            return cls(seconds=seconds_nanos[0], nanos=seconds_nanos[1])
        value = cls()
        try:
            # Spaces are never valid here: they are '+' of an offset the client left unencoded.
            value.FromJsonString(text.replace(" ", "+"))  # type: ignore[attr-defined]
        except ValueError as exc:
            raise ConversionError(expected, str(exc).rstrip(".")) from None
        return value

    return convert


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_TIMESTAMP_RANGE = (-62135596800, 253402300799)  # 0001-01-01 to 9999-12-31, as protobuf checks


def _timestamp(text: str) -> tuple[int, int] | None:
    """(seconds, nanos) of a canonical RFC 3339 timestamp, or None to let protobuf decide.

    Exactly what Timestamp.FromJsonString gives for the forms it handles, about five times
    faster (that one goes through strptime); anything unusual falls through to it.
    """
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return None
    seconds = days * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    if sign:
        offset = (int(off_h) * 60 + int(off_m)) * 60
        seconds += -offset if sign == "+" else offset
    if not _TIMESTAMP_RANGE[0] <= seconds <= _TIMESTAMP_RANGE[1]:
        return None
    return seconds, int(fraction.ljust(9, "0")) if fraction else 0


_MASK_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _field_mask(cls: type[Message]) -> Converter:
    """Comma-separated paths, each in lowerCamelCase (the JSON form) or as proto names."""
    expected = "a FieldMask (comma-separated field paths, such as title,reviewCount)"

    def convert(text: str) -> Message:
        paths = [path.strip() for path in text.split(",") if path.strip()]
        for path in paths:
            if not _MASK_PATH.match(path):
                raise ConversionError(expected, f"bad path {path!r}")
        return cls(paths=[path if "_" in path else _snake(path) for path in paths])

    return convert


def _snake(path: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), path)


# The JSON shape each type needs; checked here so the codec only sees plausible input.
_JSON_SHAPES: dict[str, tuple[type, str]] = {
    "google.protobuf.Struct": (dict, "an object"),
    "google.protobuf.Any": (dict, "an object"),
    "google.protobuf.Empty": (dict, "an object"),
    "google.protobuf.ListValue": (list, "an array"),
}


def _json_text(cls: type[Message], json: JsonDecoder) -> Converter:
    name = cls.DESCRIPTOR.full_name
    expected = f"a {name} as JSON text"
    shape = _JSON_SHAPES.get(name)

    def convert(text: str) -> Message:
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConversionError(expected, str(exc)) from None
        if shape is not None and not isinstance(parsed, shape[0]):
            raise ConversionError(expected, f"not {shape[1]}")
        value = cls()
        try:
            decode_json(json, parsed, value)
        except RequestError as exc:
            raise ConversionError(expected, exc.message) from None
        return value

    return convert
