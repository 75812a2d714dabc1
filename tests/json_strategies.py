"""Hypothesis strategies for the JSON codec tests: library.v1.Kinds messages and JSON bodies.

`messages` builds Kinds messages field by field, including values JSON cannot carry (a NaN in a
Value, a Timestamp past year 9999, an Any of an unknown type, unknown enum numbers) so that the
printers are compared where json_format fails too. `bodies` builds JSON objects for Kinds that
mix valid values with near misses of every kind (numbers as strings, `"1e3"`, `true` for a
double, unpadded base64, lower-case enum names, null, wrong containers, unknown keys).
"""

from __future__ import annotations

import base64
import math
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from grpc_transcoder.json.scalars import enum_of
from grpc_transcoder.loading.registry import Registry

INT_BOUNDS = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
TIMESTAMP_RANGE = (-62135596800, 253402300799)
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | TEXT
    | st.floats(allow_nan=False, allow_infinity=False)
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
NANOS = st.sampled_from([0, 1, 1_000, 1_000_000, 500_000_000, 999_999_999, 123_456_789])
ANY_TYPES = [
    "library.v1.Kinds.Nested",
    "google.protobuf.Timestamp",
    "google.protobuf.Int64Value",
    "google.protobuf.Struct",
    "google.protobuf.Empty",
    "google.protobuf.Any",
    "google.protobuf.FieldMask",
    "library.v1.Kinds",
]


# -- messages ------------------------------------------------------------------------------


def messages(registry: Registry, full_name: str = "library.v1.Kinds") -> st.SearchStrategy[Any]:
    return _message(registry, registry.pool.FindMessageTypeByName(full_name), 2)


def _message(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    special = _WELL_KNOWN.get(descriptor.full_name)
    if special is not None:
        return special(registry, descriptor, depth)
    if descriptor.file.name == "google/protobuf/wrappers.proto":
        inner = descriptor.fields_by_name["value"]
        return _scalar(inner).map(lambda value: registry.message_class(descriptor)(value=value))

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = registry.message_class(descriptor)()
        for field in descriptor.fields:
            if draw(st.integers(0, 3)) == 0:  # about a quarter of the fields
                _set(draw, registry, message, field, depth)
        return message

    return build()


def _set(
    draw: st.DrawFn, registry: Registry, message: Any, field: FieldDescriptor, depth: int
) -> None:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
        keys = draw(st.lists(_scalar(key), max_size=3, unique=True))
        container = getattr(message, field.name)
        for item in keys:
            if value.message_type is None:
                container[item] = draw(_scalar(value))
            elif depth > 0:
                container[item].CopyFrom(draw(_message(registry, value.message_type, depth - 1)))
        return
    if field.is_repeated:
        if entry is None:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        elif depth > 0:
            items = draw(st.lists(_message(registry, entry, depth - 1), max_size=2))
            getattr(message, field.name).extend(items)
        return
    if entry is None:
        setattr(message, field.name, draw(_scalar(field)))
    elif depth > 0:
        getattr(message, field.name).CopyFrom(draw(_message(registry, entry, depth - 1)))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    cpp = field.cpp_type
    if cpp in INT_BOUNDS:
        low, high = INT_BOUNDS[cpp]
        edges = [edge for edge in (low, high, 0, 2**53 + 1) if low <= edge <= high]
        return st.integers(low, high) | st.sampled_from(edges)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=8)
    return _SCALARS.get(cpp, TEXT)


_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.CPPTYPE_DOUBLE: st.floats() | st.sampled_from([-0.0, math.inf, 1e300]),
    FieldDescriptor.CPPTYPE_FLOAT: st.floats(width=32)
    | st.sampled_from([-0.0, 3.4028234663852886e38, 1e-45]),
    FieldDescriptor.CPPTYPE_BOOL: st.booleans(),
    # Numbers 3 and above are unknown in library.v1 enums: they print as numbers.
    FieldDescriptor.CPPTYPE_ENUM: st.integers(-2, 5),
}


def _timestamp(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    low, high = TIMESTAMP_RANGE
    seconds = st.integers(low, high) | st.sampled_from([low, high, low - 1, high + 1, 0, -1])
    nanos = NANOS | st.sampled_from([-1, 1_000_000_000])
    return st.builds(registry.message_class(descriptor), seconds=seconds, nanos=nanos)


def _duration(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    limit = 315576000000
    seconds = st.integers(-limit, limit) | st.sampled_from([0, -1, limit + 1])
    nanos = NANOS | NANOS.map(lambda n: -n)
    return st.builds(registry.message_class(descriptor), seconds=seconds, nanos=nanos)


def _field_mask(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    path = st.sampled_from(
        ["f_string", "f_nested.label", "a_b_c", "x", "a__b", "x_", "Up", "é_a", ""]
    )
    return st.lists(path, max_size=3).map(
        lambda paths: registry.message_class(descriptor)(paths=paths)
    )


def _struct(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    def build(value: dict[str, Any]) -> Any:
        message: Any = registry.message_class(descriptor)()
        message.update(value)
        return message

    return st.dictionaries(TEXT, JSON, max_size=3).map(build)


def _value(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    def build(value: Any) -> Any:
        holder: Any = registry.new_message("google.protobuf.Struct")
        holder.update({"v": value})
        message: Any = registry.message_class(descriptor)()
        message.CopyFrom(holder.fields["v"])
        return message

    special = st.sampled_from([math.nan, math.inf])
    return (JSON | special).map(build) | st.just(registry.message_class(descriptor)())


def _list_value(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    def build(values: list[Any]) -> Any:
        message: Any = registry.message_class(descriptor)()
        message.extend(values)
        return message

    return st.lists(JSON, max_size=3).map(build)


def _any(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    cls = registry.message_class(descriptor)
    empty = st.just(cls())
    unknown = st.just(cls(type_url="type.googleapis.com/no.such.Type", value=b"\x08\x01"))
    if depth <= 0:
        return empty | unknown

    @st.composite
    def packed(draw: st.DrawFn) -> Any:
        name = draw(st.sampled_from(ANY_TYPES))
        inner = draw(_message(registry, registry.pool.FindMessageTypeByName(name), depth - 1))
        message: Any = cls()
        message.Pack(inner)
        return message

    return empty | unknown | packed()


def _empty(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    return st.just(registry.message_class(descriptor)())


_WELL_KNOWN = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.Duration": _duration,
    "google.protobuf.FieldMask": _field_mask,
    "google.protobuf.Struct": _struct,
    "google.protobuf.Value": _value,
    "google.protobuf.ListValue": _list_value,
    "google.protobuf.Any": _any,
    "google.protobuf.Empty": _empty,
}


# -- JSON bodies ---------------------------------------------------------------------------

INTEGER_TEXTS = [
    "1",
    "-1",
    " 1",
    "1 ",
    "\t7",
    "1e3",
    "1.0",
    "1.5",
    "0x10",
    "+5",
    "1_000",
    "\uff19",
    "",
    "x",
]
FLOAT_TEXTS = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e39",
    "-1e39",
    "1.5",
    " 2 ",
    "1_0",
    "x",
]
BASE64_TEXTS = ["AQID", "AQI", "AQ", "A", "-_-_", "+/+/", "a b c d", "AQID====", "éé", ""]
TIMESTAMP_TEXTS = [
    "2020-01-01T00:00:00Z",
    "2020-02-29T23:59:59.5Z",
    "2020-01-01T00:00:00.123456789+05:30",
    "2021-02-29T00:00:00Z",
    "2020-1-1T0:0:0Z",
    "2020-01-01t00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-00:01",
    "2020-01-01T00:00:00.1234567891Z",
    "2020-01-01T00:00:00",
    "2020-01-01T24:00:00Z",
]
DURATION_TEXTS = [
    "1s",
    "-1.5s",
    "0.000000001s",
    "1.0000000001s",
    "1.9999999999s",
    "s",
    "1",
    "+2s",
    "315576000001s",
]
FIELD_MASK_TEXTS = ["fString,fNested.label", "f_string", "", "a,,b", "aBC.dEf", "é"]


def bodies(registry: Registry) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects for library.v1.Kinds: valid values and near misses, known and unknown keys."""
    descriptor = registry.pool.FindMessageTypeByName("library.v1.Kinds")
    return _object(registry, descriptor, 2)


def _object(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        body: dict[str, Any] = {}
        known = list(descriptor.fields)
        fields = draw(st.lists(st.sampled_from(known), max_size=4, unique=True)) if known else []
        for field in fields:
            key = draw(st.sampled_from([field.json_name, field.json_name, field.name]))
            body[key] = draw(_field_json(registry, field, depth))
        if draw(st.integers(0, 9)) == 0:
            body[draw(st.sampled_from(["unknown", "[ext.x]", "fstring"]))] = 1
        return body

    return build()


def _field_json(registry: Registry, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        keys = _key_json(entry.fields_by_name["key"])
        values = _value_json(registry, entry.fields_by_name["value"], depth)
        return st.dictionaries(keys, values, max_size=3) | st.sampled_from([None, [], "x"])
    if field.is_repeated:
        element = _value_json(registry, field, depth)
        return st.lists(element | st.none(), max_size=3) | st.sampled_from([None, {}, 5])
    return _value_json(registry, field, depth)


def _key_json(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return st.sampled_from(["true", "false", "True", "1"])
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return TEXT
    return _scalar(field).map(str) | st.sampled_from(INTEGER_TEXTS)


def _value_json(registry: Registry, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None:
        return _message_json(registry, entry, depth)
    return _scalar_json(field)


def _scalar_json(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    cpp = field.cpp_type
    odd: st.SearchStrategy[Any] = st.sampled_from([None, True, [], {}])
    if cpp in INT_BOUNDS:
        low, high = INT_BOUNDS[cpp]
        numbers = st.integers(low - 2, high + 2) | st.sampled_from([1.0, 1.5, -0.0, 1e20])
        return numbers | numbers.map(str) | st.sampled_from(INTEGER_TEXTS) | odd
    if cpp in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**70), 2**70)
        return numbers | st.sampled_from([*FLOAT_TEXTS, 3.5e38, -3.5e38, False]) | odd
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return st.booleans() | st.sampled_from(["true", "false", 0, 1, None])
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        names = [value.name for value in enum_of(field).values]
        texts = [*names, names[-1].lower(), "NOPE", "1", "7", "1.5", " 2"]
        return (
            st.sampled_from(texts) | st.integers(-3, 6) | st.sampled_from([1.0, 1.5, 2**31]) | odd
        )
    if field.type == FieldDescriptor.TYPE_BYTES:
        encoded = st.binary(max_size=6).map(lambda data: base64.b64encode(data).decode())
        return encoded | st.sampled_from(BASE64_TEXTS) | st.sampled_from([5, None, []])
    return TEXT | st.sampled_from(["\ud800", "\ud83d\ude00", 5, None, []])


def _message_json(registry: Registry, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    name = descriptor.full_name
    odd: st.SearchStrategy[Any] = st.sampled_from([None, 5, "", [], "x"])
    if name in _WELL_KNOWN_JSON:
        return _WELL_KNOWN_JSON[name] | odd
    if name == "google.protobuf.Any":
        return _any_json(registry, depth) | odd
    if descriptor.file.name == "google/protobuf/wrappers.proto":
        return _scalar_json(descriptor.fields_by_name["value"])
    if depth <= 0:
        return st.just({}) | odd
    return _object(registry, descriptor, depth - 1) | odd


_WELL_KNOWN_JSON: dict[str, st.SearchStrategy[Any]] = {
    "google.protobuf.Timestamp": st.sampled_from(TIMESTAMP_TEXTS),
    "google.protobuf.Duration": st.sampled_from(DURATION_TEXTS),
    "google.protobuf.FieldMask": st.sampled_from(FIELD_MASK_TEXTS),
    "google.protobuf.Struct": JSON | st.sampled_from([2**64, 1e308]),
    "google.protobuf.Value": JSON | st.sampled_from([2**64, 1e308]),
    "google.protobuf.ListValue": JSON | st.sampled_from([2**64, 1e308]),
}


def _any_json(registry: Registry, depth: int) -> st.SearchStrategy[Any]:
    prefix = "type.googleapis.com/"
    nested = registry.pool.FindMessageTypeByName("library.v1.Kinds.Nested")
    inline = _object(registry, nested, 0).map(
        lambda body: {"@type": prefix + nested.full_name, **body}
    )
    wrapped = st.builds(
        lambda name, value: {"@type": prefix + name, "value": value},
        st.sampled_from(
            ["google.protobuf.Timestamp", "google.protobuf.Int32Value", "google.protobuf.Struct"]
        ),
        st.sampled_from(["2020-01-01T00:00:00Z", 5, "5", {"a": 1}, None]),
    )
    broken = st.sampled_from(
        [
            {},
            {"label": "x"},
            {"@type": "type.googleapis.com/no.such.Type"},
            {"@type": 5},
            {"@type": prefix + "google.protobuf.Int32Value"},
            {"@type": prefix + "google.protobuf.Empty"},
            {"@type": prefix + "google.protobuf.Empty", "value": {}},
        ]
    )
    return inline | wrapped | broken


# -- where protobuf's C++ and Go parsers are stricter than Python's json_format -------------

_FLOATING = (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT)
_FLOAT_WRAPPERS = ("google.protobuf.DoubleValue", "google.protobuf.FloatValue")
_OPAQUE = (
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Empty",
)


def references_reject(registry: Registry, body: Any, full_name: str = "library.v1.Kinds") -> bool:
    """Whether the parsers behind Envoy (C++) and grpc-gateway (Go) refuse a body that Python's
    json_format may accept: `true`/`false` for a float, double or enum (also as elements, map
    values and wrapper values), an enum number outside int32 (json_format wraps 2**32 to 0), or
    one field given by both its JSON name and its proto name."""
    return _stricter(registry, registry.pool.FindMessageTypeByName(full_name), body)


def _stricter(registry: Registry, descriptor: Descriptor, value: Any) -> bool:
    if not isinstance(value, dict) or descriptor.full_name in _OPAQUE:
        return False
    if descriptor.full_name == "google.protobuf.Any":
        return _stricter_any(registry, value)
    if descriptor.full_name in _FLOAT_WRAPPERS:
        return False  # a wrapper is written as its bare value, checked by the caller
    seen: set[str] = set()
    fields = {
        **{f.name: f for f in descriptor.fields},
        **{f.json_name: f for f in descriptor.fields},
    }
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            continue
        if field.name in seen:
            return True
        seen.add(field.name)
        if item is not None and _stricter_field(registry, field, item):
            return True
    return False


def _stricter_field(registry: Registry, field: FieldDescriptor, item: Any) -> bool:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        value_field = entry.fields_by_name["value"]
        values = item.values() if isinstance(item, dict) else ()
        return any(v is not None and _stricter_value(registry, value_field, v) for v in values)
    if field.is_repeated:
        elements = item if isinstance(item, list) else ()
        return any(e is not None and _stricter_value(registry, field, e) for e in elements)
    return _stricter_value(registry, field, item)


def _stricter_value(registry: Registry, field: FieldDescriptor, item: Any) -> bool:
    entry = field.message_type
    if entry is not None:
        if entry.full_name in _FLOAT_WRAPPERS:
            return isinstance(item, bool)
        return _stricter(registry, entry, item)
    enum = field.cpp_type == FieldDescriptor.CPPTYPE_ENUM
    if enum and type(item) is int and not -(2**31) <= item < 2**31:
        return True  # json_format wraps 2**32 to 0 (the value is lost); the references refuse it
    numeric = field.cpp_type in _FLOATING or enum
    return numeric and isinstance(item, bool)


def _stricter_any(registry: Registry, value: dict[str, Any]) -> bool:
    type_url = value.get("@type")
    if not isinstance(type_url, str):
        return False
    try:
        contained = registry.pool.FindMessageTypeByName(type_url.rpartition("/")[2])
    except KeyError:
        return False
    if contained.full_name in _FLOAT_WRAPPERS:
        return isinstance(value.get("value"), bool)
    if contained.full_name in _OPAQUE or contained.file.name == "google/protobuf/wrappers.proto":
        return False
    return _stricter(registry, contained, {k: v for k, v in value.items() if k != "@type"})
