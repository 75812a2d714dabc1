"""Field values: typed conversion of one path or query string into a scalar field's value.

Input: a field type or enum (once, when its message type is first compiled). Output: a
`Converter` from a string to the Python value, raising ConversionError that names the type.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
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

NULL_VALUE = "google.protobuf.NullValue"


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
