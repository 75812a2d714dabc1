"""JSON scalar parsers: one parser per proto3 scalar kind, accepting what json_format accepts.

Input: a field descriptor (at compile time), then parsed JSON values. Output: Python values
ready to assign to the field, or `Invalid` saying what was expected. json_format's leniencies
are kept on purpose (`"1e3"` and `1.0` for an int32, URL-safe or unpadded base64, enum numbers
as strings), so that every body it accepts is accepted here too. Where Python's json_format is
more lenient than protobuf's C++ and Go parsers (what Envoy and grpc-gateway run), the stricter
rule wins: `true` and `false` are refused for floats, doubles and enums.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

from grpc_transcoder.json.problems import expected, invalid, show
from grpc_transcoder.json.scalars import (
    FLOAT32_MAX,
    INT_RANGES,
    Convert,
    Kind,
    custom_json_names,
    described,
    enum_of,
    kind_of,
)

UNPAIRED_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)


@dataclass(frozen=True, slots=True)
class Parser:
    """Parses one JSON value for a field of one kind; raises Invalid naming what it expected."""

    kind: Kind
    expected: str
    convert: Convert
    names: Mapping[str, int] | None = None  # enums: the numbers of the value names


def parser(
    field: FieldDescriptor, *, map_key: bool = False, enum_case_insensitive: bool = False
) -> Parser:
    """The parser of a field's values (`map_key`: of a map's keys, which JSON writes as text).

    `enum_case_insensitive` (TRANSCODER_ENUM_CASE_INSENSITIVE, Envoy's
    `case_insensitive_enum_parsing`) accepts enum value names in any letter case.
    """
    kind = kind_of(field)
    if kind is Kind.ENUM:
        return _enum_parser(enum_of(field), case_insensitive=enum_case_insensitive)
    if map_key:
        return _KEY_PARSERS[kind]
    return _PARSERS[kind]


def _integer(kind: Kind) -> Convert:
    low, high = INT_RANGES[kind]
    what = described(kind)

    def convert(value: Any) -> int:
        number = value if type(value) is int else _json_format_integer(value, what)
        if low <= number <= high:
            return number
        raise expected(what, value, "out of range")

    return convert


def _json_format_integer(value: Any, what: str) -> int:
    """json_format's integer rules: integral floats and numeric strings are accepted."""
    if isinstance(value, float):
        if not value.is_integer():
            raise expected(what, value, "not an integer")
        return int(value)
    if isinstance(value, str) and " " in value:
        raise expected(what, value)
    if isinstance(value, bool):
        raise expected(what, value)
    # int() of a long string costs time quadratic in its length, even when it fails: long
    # digit strings are out of range without it, and other long strings can only be floats.
    long_text = isinstance(value, str) and len(value) > _INTEGER_DIGITS
    if long_text and _too_many_digits(value):
        raise expected(what, value, "out of range")
    try:
        if not long_text or value.strip().lstrip("+-").isdecimal():
            return int(value)
    except ValueError:
        pass
    except (TypeError, OverflowError):
        raise expected(what, value) from None
    try:
        number = float(value)
    except ValueError:
        raise expected(what, value) from None
    if not number.is_integer():
        raise expected(what, value, "not an integer")
    return int(number)


_INTEGER_DIGITS = 20  # 18446744073709551615, the largest uint64


def _too_many_digits(text: str) -> bool:
    significant = text.strip().lstrip("+-").lstrip("0")
    return len(significant) > _INTEGER_DIGITS and significant.isdecimal()


def _floating(kind: Kind) -> Convert:
    float32 = kind is Kind.FLOAT
    what = described(kind)

    def convert(value: Any) -> float:
        if isinstance(value, float):
            if value - value != 0.0:
                raise expected(what, value, 'use the strings "NaN", "Infinity" or "-Infinity"')
            if float32 and not -FLOAT32_MAX <= value <= FLOAT32_MAX:
                raise expected(what, value, "out of range")
            return float(value)
        return _json_format_float(value, what)

    return convert


def _json_format_float(value: Any, what: str) -> float:
    """json_format's float rules: numbers, numeric strings, "NaN" and "[-]Infinity"."""
    if value is True or value is False:
        raise expected(what, value)
    if value == "nan":
        raise expected(what, value, 'write "NaN"')
    try:
        return float(value)
    except (ValueError, TypeError, OverflowError):
        raise expected(what, value) from None


def _boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise expected("a boolean (true or false)", value)


def _string(value: Any) -> str:
    if type(value) is str and value.isascii():
        return value
    if not isinstance(value, str):
        raise expected("a string", value)
    if UNPAIRED_SURROGATE.search(value):
        raise expected("a string", value, "unpaired surrogate")
    return value


def _bytes(value: Any) -> bytes:
    """Standard or URL-safe base64, padding optional (json_format's lenient decoder)."""
    try:
        encoded = value.encode("utf-8") if isinstance(value, str) else value
        padded = encoded + b"=" * (4 - len(encoded) % 4)
        return base64.urlsafe_b64decode(padded)
    except (ValueError, TypeError):
        raise expected("base64-encoded bytes", value) from None


def _key_boolean(value: Any) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise expected('"true" or "false"', value)


def _enum_parser(enum_type: EnumDescriptor, *, case_insensitive: bool = False) -> Parser:
    by_name: dict[str, int] = {
        option.string: value.number
        for value, option in custom_json_names(enum_type)
        if option.HasField("string")
    }
    by_name.update((name, value.number) for name, value in enum_type.values_by_name.items())
    folded = {name.lower(): number for name, number in by_name.items()}
    numbers = frozenset(enum_type.values_by_number)
    closed = enum_type.is_closed
    what = f"a {enum_type.full_name} name or number"

    def convert(value: Any) -> int:
        if value is True or value is False:
            raise expected(what, value)
        try:
            number = by_name.get(value)
        except TypeError:
            raise expected(what, value) from None
        if number is None and case_insensitive and isinstance(value, str):
            number = folded.get(value.lower())
        if number is not None:
            return number
        try:
            number = int(value)
        except ValueError:
            raise invalid(f"expected {what}, got {show(value)}", skippable=True) from None
        except (TypeError, OverflowError):
            raise expected(what, value) from None
        if closed and number not in numbers:
            raise expected(what, value, "unknown number in a closed enum")
        if not -(2**31) <= number < 2**31:
            raise expected(what, value, "out of range")
        return number

    return Parser(Kind.ENUM, what, convert, by_name)


def _parsers(*, map_key: bool) -> dict[Kind, Parser]:
    table: dict[Kind, Parser] = {}
    for kind in (Kind.INT32, Kind.UINT32, Kind.INT64, Kind.UINT64):
        table[kind] = Parser(kind, described(kind), _integer(kind))
    for kind in (Kind.DOUBLE, Kind.FLOAT):
        table[kind] = Parser(kind, described(kind), _floating(kind))
    table[Kind.BOOL] = Parser(Kind.BOOL, "a boolean", _key_boolean if map_key else _boolean)
    table[Kind.STRING] = Parser(Kind.STRING, "a string", _string)
    table[Kind.BYTES] = Parser(Kind.BYTES, "base64-encoded bytes", _bytes)
    return table


_PARSERS = _parsers(map_key=False)
_KEY_PARSERS = _parsers(map_key=True)
