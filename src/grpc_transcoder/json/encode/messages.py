"""JSON encoding: messages printed as proto3 JSON values through per-type field tables.

Input: a message. Output: its JSON value (dicts, lists, strings, numbers), equal to what
json_format.MessageToDict returns with the same options. Each message type is compiled once, on
first use, into a plan per field (JSON key, converter, presence) and from those into a
straight-line function (`encode/source.py`); well-known types have encoders of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from grpc_transcoder.json import scalars as json_scalars
from grpc_transcoder.json import wellknown as json_wellknown
from grpc_transcoder.json.encode.source import EncodedField, compile_encoder
from grpc_transcoder.json.problems import show
from grpc_transcoder.json.scalars import Convert
from grpc_transcoder.json.wellknown import Encode, TypeUrls

# What printing raises where json_format fails too (UnknownTypeError is a LookupError).
ENCODE_FAILURES = (ValueError, TypeError, LookupError, OverflowError, DecodeError)
_FLOATING = frozenset({FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT})


@dataclass(frozen=True, slots=True)
class Style:
    """The printing options (JsonOptions without the parsing one)."""

    proto_names: bool
    omit_unpopulated: bool
    enums_as_ints: bool


class Encoders:
    """Compiles and caches one encoder per message type for one pool and option set."""

    def __init__(
        self, pool: descriptor_pool.DescriptorPool, style: Style, *, types: TypeUrls
    ) -> None:
        self.pool = pool
        self.style = style
        self.types = types
        self._encoders: dict[Descriptor, Encode] = {}
        self._pending: dict[Descriptor, list[Encode]] = {}
        self._fields: dict[FieldDescriptor, Encode] = {}

    def for_type(self, descriptor: Descriptor) -> Encode:
        """The encoder of a message type; compiled on first use, with its field types."""
        found = self._encoders.get(descriptor)
        if found is not None:
            return found
        if descriptor in self._pending:
            return _late_bound(self._pending[descriptor])
        self._pending[descriptor] = cell = []
        encoder = json_wellknown.encoder(self, descriptor) or self._regular(descriptor)
        cell.append(encoder)
        self._encoders[descriptor] = encoder
        del self._pending[descriptor]
        return encoder

    def for_field(self, field: FieldDescriptor) -> Encode:
        """Prints one field of a message as it appears under its key in the message's JSON.

        Unpopulated fields print their zero value (`[]`, `{}`, `0`...) whatever the options;
        an unset field with presence (a message, `optional`, a oneof member) prints null.
        """
        found = self._fields.get(field)
        if found is None:
            found = self._fields[field] = self._field_encoder(field)
        return found

    def _field_encoder(self, field: FieldDescriptor) -> Encode:
        attr = field.name
        convert = self._field(field)
        presence = field.has_presence

        def encode(message: Message) -> Any:
            if presence and not message.HasField(attr):
                return None
            value = getattr(message, attr)
            return value if convert is None else convert(value)

        return encode

    def json_format(self, message: Message) -> Any:
        """json_format's own result, for what the plans do not cover (proto2 extensions)."""
        # Imported here: only rare types need it, and it costs milliseconds at cold start.
        from google.protobuf import json_format  # noqa: PLC0415

        return json_format.MessageToDict(
            message,
            always_print_fields_with_no_presence=not self.style.omit_unpopulated,
            preserving_proto_field_name=self.style.proto_names,
            use_integers_for_enums=self.style.enums_as_ints,
            descriptor_pool=self.pool,
        )

    def _regular(self, descriptor: Descriptor) -> Encode:
        if descriptor.is_extendable:  # set extensions print as "[full.name]" keys
            return self.json_format
        plans = [self._plan(field) for field in descriptor.fields]
        return compile_encoder(
            descriptor.full_name, plans, omit_unpopulated=self.style.omit_unpopulated
        )

    def _plan(self, field: FieldDescriptor) -> EncodedField:
        oneof = field.containing_oneof
        entry = field.message_type
        is_map = _is_map(field)
        # A singular wrapper prints as its value: read `.value` in place, without a call.
        unwrap = entry is not None and not field.is_repeated and json_wellknown.is_wrapper(entry)
        if unwrap:
            convert = self._value(cast(Descriptor, entry).fields_by_name["value"])
        elif is_map:
            convert = self._map_printer(cast(Descriptor, entry))
        else:  # for a repeated field, the converter of one element
            convert = self._value(field)
        return EncodedField(
            attr=field.name,
            key=field.name if self.style.proto_names else field.json_name,
            convert=convert,
            unwrap=unwrap,
            repeated=field.is_repeated,
            is_map=is_map,
            presence=field.has_presence,
            oneof=None if oneof is None else oneof.name,
            signed_zero=field.cpp_type in _FLOATING and not field.is_repeated,
        )

    def _field(self, field: FieldDescriptor) -> Convert | None:
        """The converter of a field's value: the whole container for repeated and map fields."""
        if _is_map(field):
            return self._map_printer(cast(Descriptor, field.message_type))
        convert = self._value(field)
        if field.is_repeated:
            return list if convert is None else _each(convert)
        return convert

    def _value(self, field: FieldDescriptor) -> Convert | None:
        if field.message_type is not None:
            return self.for_type(field.message_type)
        return json_scalars.printer(field, enums_as_ints=self.style.enums_as_ints)

    def _map_printer(self, entry: Descriptor) -> Convert:
        key_printer = json_scalars.print_map_key(entry.fields_by_name["key"])
        return _map_printer(key_printer, self._value(entry.fields_by_name["value"]))


def _map_printer(print_key: Convert | None, convert: Convert | None) -> Convert:
    """Map container -> dict. One loop per shape: no per-entry test of what to convert.

    Map containers have no C-level items(): iterate the keys and index. Loops rather than
    comprehensions: a comprehension is a function call of its own in Python 3.11.
    """
    if print_key is None:
        return _copy_map if convert is None else _values_printer(convert)
    return _keys_printer(print_key) if convert is None else _entries_printer(print_key, convert)


def _values_printer(convert: Convert) -> Convert:
    def print_values(values: Any) -> dict[Any, Any]:
        printed = {}
        for key in values:
            printed[key] = convert(values[key])
        return printed

    return print_values


def _keys_printer(print_key: Convert) -> Convert:
    def print_keys(values: Any) -> dict[Any, Any]:
        printed = {}
        for key in values:
            printed[print_key(key)] = values[key]
        return printed

    return print_keys


def _entries_printer(print_key: Convert, convert: Convert) -> Convert:
    def print_entries(values: Any) -> dict[Any, Any]:
        printed = {}
        for key in values:
            printed[print_key(key)] = convert(values[key])
        return printed

    return print_entries


def _copy_map(values: Any) -> dict[Any, Any]:
    printed = {}
    for key in values:
        printed[key] = values[key]
    return printed


def _late_bound(cell: list[Encode]) -> Encode:
    """A recursive type's encoder, called before its compilation ends: found at call time."""

    def encode(message: Message) -> Any:
        return cell[0](message)

    return encode


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


def _each(convert: Convert) -> Convert:
    return lambda values: list(map(convert, values))


def locate_failure(encoders: Encoders, message: Message, exc: Exception) -> tuple[str, Exception]:
    """Where printing `message` fails: the path of the innermost failing value and its error.

    Runs only after a failure, re-encoding field by field (proto names, `[i]`, `["k"]`).
    """
    path, cause = "", exc
    step = _failing_field(encoders, message)
    while step is not None:
        segment, message, cause = step
        path += segment
        step = _failing_field(encoders, message)
    return path.lstrip("."), cause


def _failing_field(encoders: Encoders, message: Message) -> tuple[str, Message, Exception] | None:
    # Struct, Value and ListValue print as plain JSON: their own field names stay out of paths.
    transparent = message.DESCRIPTOR.full_name in _JSON_VALUES
    for field, value in message.ListFields():
        entry = field.message_type
        if entry is None:
            continue
        if entry.GetOptions().map_entry:
            inner = entry.fields_by_name["value"].message_type
            children = [(f"[{show(key)}]", value[key]) for key in value] if inner else []
        elif field.is_repeated:
            children = [(f"[{index}]", item) for index, item in enumerate(value)]
        else:
            children = [("", value)]
        for segment, child in children:
            try:
                encoders.for_type(child.DESCRIPTOR)(child)
            except ENCODE_FAILURES as exc:
                name = "" if transparent else f".{field.name}"
                return f"{name}{segment}", child, exc
    return None


_JSON_VALUES = frozenset({json_wellknown.STRUCT, json_wellknown.VALUE, json_wellknown.LIST_VALUE})
