"""JSON scalars: the kind of each scalar field, and how its values print as proto3 JSON.

Input: a field descriptor (at compile time), then field values. Output: JSON values, exactly as
json_format prints them: 64-bit integers as strings, NaN and infinities as strings, float32
values as their shortest round-tripping decimal, bytes as base64, enums by name.
"""

from __future__ import annotations

import binascii
import enum
import math
import struct
from collections.abc import Callable
from typing import Any, cast

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

Convert = Callable[[Any], Any]

FLOAT32_MAX = float.fromhex("0x1.fffffep+127")
NULL_VALUE = "google.protobuf.NullValue"
JSON_NAME_EXTENSION = "pb.enumvalue.json"  # JSON names for enum values
_FLOAT32 = struct.Struct("<f")


class Kind(enum.Enum):
    """The JSON shape of a scalar field."""

    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    DOUBLE = "double"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"
    BYTES = "bytes"
    ENUM = "enum"


INT_RANGES = {
    Kind.INT32: (-(2**31), 2**31 - 1),
    Kind.UINT32: (0, 2**32 - 1),
    Kind.INT64: (-(2**63), 2**63 - 1),
    Kind.UINT64: (0, 2**64 - 1),
}

_KINDS = {
    FieldDescriptor.CPPTYPE_INT32: Kind.INT32,
    FieldDescriptor.CPPTYPE_UINT32: Kind.UINT32,
    FieldDescriptor.CPPTYPE_INT64: Kind.INT64,
    FieldDescriptor.CPPTYPE_UINT64: Kind.UINT64,
    FieldDescriptor.CPPTYPE_DOUBLE: Kind.DOUBLE,
    FieldDescriptor.CPPTYPE_FLOAT: Kind.FLOAT,
    FieldDescriptor.CPPTYPE_BOOL: Kind.BOOL,
    FieldDescriptor.CPPTYPE_ENUM: Kind.ENUM,
}


def kind_of(field: FieldDescriptor) -> Kind:
    """The scalar kind of a non-message field."""
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return Kind.BYTES if field.type == FieldDescriptor.TYPE_BYTES else Kind.STRING
    return _KINDS[field.cpp_type]


def enum_of(field: FieldDescriptor) -> EnumDescriptor:
    """The enum type of an enum field (the stubs leave it optional)."""
    return cast(EnumDescriptor, field.enum_type)


def described(kind: Kind) -> str:
    """`an int32`, `a uint64`: the expected type as error messages name it."""
    return f"an {kind.value}" if kind.value.startswith("int") else f"a {kind.value}"


class EnumNames(dict[int, Any]):
    """Number -> JSON name; an unknown number prints as itself (open enums), in C speed."""

    def __missing__(self, number: int) -> Any:
        return number


class ClosedEnumNames(EnumNames):
    def __missing__(self, number: int) -> Any:
        raise ValueError(f"enum value {number} has no name in a closed enum")


def enum_printer(enum_type: EnumDescriptor) -> Convert:
    """Number -> name (`values_by_number`, as json_format reads it); NullValue prints null."""
    if enum_type.full_name == NULL_VALUE:
        return _null
    table = ClosedEnumNames() if enum_type.is_closed else EnumNames()
    custom = dict(custom_json_names(enum_type))
    table.update(
        (number, custom[value].string if value in custom else value.name)
        for number, value in enum_type.values_by_number.items()
    )
    return table.__getitem__


def custom_json_names(enum_type: EnumDescriptor) -> list[tuple[Any, Any]]:
    """The values of `enum_type` with a `pb.enumvalue.json` option, and the option.

    json_format honours the option only while protobuf's json_enumvalue_options module is
    loaded (the extension must be in the default pool); so does the codec, as it stands when
    the enum is first compiled.
    """
    try:
        extension: Any = descriptor_pool.Default().FindExtensionByName(JSON_NAME_EXTENSION)
    except KeyError:
        return []
    found: list[tuple[Any, Any]] = []
    for value in enum_type.values:
        options = value.GetOptions()
        if options.HasExtension(extension):
            found.append((value, options.Extensions[extension]))
    return found


def _null(_value: Any) -> None:
    return None


def print_double(value: float) -> Any:
    if value - value == 0.0:  # finite
        return value
    return _non_finite(value)


def print_float(value: float) -> Any:
    """The shortest decimal that reads back as the same float32, found as json_format does.

    The search formats the value up to four times; results are memoized because float
    fields tend to repeat their values (prices, ratings).
    """
    found = _SHORTEST.get(value)
    if found is not None:
        return found
    if value - value != 0.0:
        return _non_finite(value)
    if not value:  # 0.0 and -0.0 are one key in a dict, and print as themselves
        return value
    precision = 6
    rounded = float(f"{value:.6g}")
    while _FLOAT32.unpack(_FLOAT32.pack(rounded))[0] != value:
        precision += 1
        if precision > _FLOAT32_DIGITS:  # not a float32 value: cannot come from a float field
            return value
        rounded = float(f"{value:.{precision}g}")
    if len(_SHORTEST) >= _MAX_SHORTEST:
        _SHORTEST.clear()
    _SHORTEST[value] = rounded
    return rounded


_FLOAT32_DIGITS = 9  # every float32 reads back exactly from 9 significant digits
_SHORTEST: dict[float, float] = {}
_MAX_SHORTEST = 4096


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def print_bytes(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def printer(field: FieldDescriptor, *, enums_as_ints: bool) -> Convert | None:
    """The converter of a singular value, or None where the value is its own JSON."""
    kind = kind_of(field)
    if kind is Kind.ENUM:
        return None if enums_as_ints else enum_printer(enum_of(field))
    return _PRINTERS.get(kind)


_PRINTERS: dict[Kind, Convert] = {
    Kind.INT64: str,
    Kind.UINT64: str,
    Kind.DOUBLE: print_double,
    Kind.FLOAT: print_float,
    Kind.BYTES: print_bytes,
}


def print_map_key(field: FieldDescriptor) -> Convert | None:
    kind = kind_of(field)
    if kind is Kind.BOOL:
        return _bool_key
    return None if kind is Kind.STRING else str


def _bool_key(value: bool) -> str:
    return "true" if value else "false"
