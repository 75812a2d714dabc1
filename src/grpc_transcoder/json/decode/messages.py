"""JSON decoding: parsed JSON values merged into messages, through per-type field tables.

Input: a value from orjson and a message. Output: the message, filled; or `Invalid` listing
every problem with its relative field path. Each message type is compiled once, on first use,
into a table from JSON key (json_name and proto name) to a field decoder.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import re
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.json.decode import field_setters
from grpc_transcoder.json.decode import wellknown as json_wellknown_decoding
from grpc_transcoder.json.problems import (
    MAX_DEPTH,
    Invalid,
    Problems,
    expected,
    invalid,
    key_segment,
    prefixed,
    show,
    too_deep,
)
from grpc_transcoder.json.scalars import NULL_VALUE
from grpc_transcoder.json.wellknown import VALUE, MessageDecode, TypeUrls

_EXTENSION_KEY = re.compile(r"\[[a-zA-Z0-9\._]*\]$")


class Null(enum.Enum):
    """What a JSON null does to a field (json_format's rules)."""

    CLEAR = "clear"  # the field returns to its default
    VALUE = "value"  # a google.protobuf.Value field becomes null_value
    ZERO = "zero"  # a google.protobuf.NullValue field is set to NULL_VALUE
    REJECT = "reject"  # repeated Value and repeated NullValue fields cannot be null


@dataclass(frozen=True, slots=True)
class FieldDecoder:
    """How one field takes its JSON value: `set` for values, `null` for JSON null."""

    attr: str
    oneof: str | None
    null: Null
    set: field_setters.Setter
    empty: type | None = None  # list for repeated fields, dict for maps: `[]`/`{}` just clear
    # Under its proto name, when its JSON name differs: an object giving both is refused.
    twin: str = ""


@dataclass(frozen=True, slots=True)
class FieldTable:
    """Every JSON key a message type accepts, and what to say about the ones it does not."""

    full_name: str
    fields: dict[str, FieldDecoder]
    ignore_unknown: bool
    json_names: tuple[str, ...]  # what "did you mean" suggests


class Decoders:
    """Compiles and caches one decoder per message type for one pool and option set."""

    def __init__(
        self,
        pool: descriptor_pool.DescriptorPool,
        *,
        ignore_unknown: bool,
        types: TypeUrls,
        enum_case_insensitive: bool = False,
    ) -> None:
        self.pool = pool
        self.ignore_unknown = ignore_unknown
        self.enum_case_insensitive = enum_case_insensitive
        self.types = types
        self._decoders: dict[Descriptor, MessageDecode] = {}
        self._pending: dict[Descriptor, list[MessageDecode]] = {}
        self._tables: dict[Descriptor, FieldTable | None] = {}

    def for_type(self, descriptor: Descriptor) -> MessageDecode:
        """The decoder of a message type; compiled on first use, with its field types."""
        found = self._decoders.get(descriptor)
        if found is not None:
            return found
        if descriptor in self._pending:
            return _late_bound(self._pending[descriptor])
        self._pending[descriptor] = cell = []
        decoder = json_wellknown_decoding.decoder(self, descriptor) or self._regular(descriptor)
        cell.append(decoder)
        self._decoders[descriptor] = decoder
        del self._pending[descriptor]
        return decoder

    def table(self, descriptor: Descriptor) -> FieldTable | None:
        """The field table of a regular type; None where json_format must decode it."""
        if descriptor not in self._tables:
            self._tables[descriptor] = _compile_table(self, descriptor)
        return self._tables[descriptor]

    def any_content(
        self, descriptor: Descriptor, message: Message, value: dict[Any, Any], depth: int
    ) -> None:
        """Decode the fields of a regular message inlined in an Any (depth: the Any's)."""
        table = self.table(descriptor)
        if table is None:
            self.json_format(message, value, depth)
        else:
            decode_fields(table, message, value, depth)

    def json_format(self, message: Message, value: Any, depth: int) -> None:
        """Decode with json_format (for what the tables do not cover), at the same depth."""
        # Imported here: only rare inputs need it, and it costs milliseconds at cold start.
        from google.protobuf import json_format  # noqa: PLC0415

        try:
            json_format.ParseDict(
                value,
                message,
                ignore_unknown_fields=self.ignore_unknown,
                descriptor_pool=self.pool,
                max_recursion_depth=MAX_DEPTH + 1 - depth,
            )
        except Exception as exc:  # noqa: BLE001 - json_format lets TypeError, KeyError... escape
            reason = str(exc).replace("\n", " ")
            if not isinstance(exc, json_format.ParseError):
                reason = f"{type(exc).__name__}: {reason}"
            raise invalid(reason) from None

    def _regular(self, descriptor: Descriptor) -> MessageDecode:
        table = self.table(descriptor)
        if table is None:
            return self.json_format
        json_format_fallback = self.json_format

        def decode(message: Message, value: Any, depth: int) -> None:
            if depth > MAX_DEPTH:
                raise too_deep()
            if isinstance(value, dict):
                decode_fields(table, message, value, depth)
                return
            try:
                if not isinstance(value, str | list | tuple):
                    raise invalid("not an object")
                # json_format iterates strings and lists as if they were objects: "" and []
                # are empty messages. Let it judge these rare inputs.
                json_format_fallback(message, value, depth)
            except Invalid:
                raise expected(f"a JSON object ({table.full_name})", value) from None

        return decode


def _late_bound(cell: list[MessageDecode]) -> MessageDecode:
    """A recursive type's decoder, called before its compilation ends: found at call time."""

    def decode(message: Message, value: Any, depth: int) -> None:
        cell[0](message, value, depth)

    return decode


def decode_fields(table: FieldTable, message: Message, value: dict[Any, Any], depth: int) -> None:
    """Merge a JSON object into `message`; raises Invalid with every problem found."""
    problems: Problems | None = None
    oneofs: set[str] | None = None
    fields = table.fields
    for key, item in value.items():
        field = fields.get(key)
        try:
            if field is None:
                _unknown(table, key)
                continue
            twin = field.twin
            if twin and twin in value:  # protobuf's C++ and Go parsers refuse it too
                raise invalid(f"the field {key} is given twice, also as {show(twin)}")
            if item is None:
                _set_null(field, message)
            elif type(item) is field.empty and not item:  # common in echoed, fully printed JSON
                type(message).ClearField(message, field.attr)
            else:
                if field.oneof is not None:
                    oneofs = _claim(oneofs, field.oneof, table)
                field.set(message, item, depth)
        except Invalid as exc:
            if exc.skippable and table.ignore_unknown:
                continue
            problems = prefixed(problems, _key_segment(key), exc)
    if problems is not None:
        raise Invalid(problems)


def _key_segment(key: Any) -> str:
    return key_segment(key) if isinstance(key, str) else f"[{show(key)}]"


def _unknown(table: FieldTable, key: Any) -> None:
    if not isinstance(key, str):
        raise invalid(f"field names must be strings, got {show(key)}")
    if _EXTENSION_KEY.match(key):  # json_format rejects these even when ignoring unknowns
        raise invalid(f"{table.full_name} has no extensions")
    if table.ignore_unknown:
        return
    raise invalid(f"{table.full_name} has no field named {show(key)}{_suggestion(key, table)}")


def _suggestion(key: str, table: FieldTable) -> str:
    """A "did you mean" for an unknown key, at a bounded cost: short keys only, compared with
    at most _SUGGESTION_CANDIDATES names of about the same length."""
    if len(key) > _SUGGESTED_KEY_CHARS:
        return ""
    names = table.json_names
    if len(names) > _SUGGESTION_CANDIDATES:
        near = (name for name in names if abs(len(name) - len(key)) <= 3)
        names = tuple(itertools.islice(near, _SUGGESTION_CANDIDATES))
    close = difflib.get_close_matches(key, names, n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


_SUGGESTED_KEY_CHARS = 64
_SUGGESTION_CANDIDATES = 64


def _claim(oneofs: set[str] | None, oneof: str, table: FieldTable) -> set[str]:
    if oneofs is None:
        return {oneof}
    if oneof in oneofs:
        raise invalid(f"more than one field of the oneof {table.full_name}.{oneof}")
    oneofs.add(oneof)
    return oneofs


def _set_null(field: FieldDecoder, message: Message) -> None:
    if field.null is Null.CLEAR:
        type(message).ClearField(message, field.attr)
    elif field.null is Null.VALUE:
        getattr(message, field.attr).null_value = 0
    elif field.null is Null.ZERO:
        setattr(message, field.attr, 0)
    else:
        raise invalid("null is not allowed for this repeated field; send [] or leave it out")


def _compile_table(decoders: Decoders, descriptor: Descriptor) -> FieldTable | None:
    """The key table of a regular type, or None where json_format must decode it.

    json_format keeps extendable (proto2) types, whose `[ext.name]` keys the table does not
    resolve. (A field named like a oneof, which json_format's duplicate check would trip on,
    cannot happen: descriptor pools reject such files.)
    """
    if descriptor.is_extendable:
        return None
    fields: dict[str, FieldDecoder] = {}
    compiled = [(field, _field_decoder(decoders, field)) for field in descriptor.fields]
    for field, decoder in compiled:
        differs = field.json_name != field.name
        fields[field.name] = replace(decoder, twin=field.json_name) if differs else decoder
    for field, decoder in compiled:  # a json_name wins over an equal proto name
        fields[field.json_name] = decoder
    json_names = tuple(field.json_name for field in descriptor.fields)
    return FieldTable(descriptor.full_name, fields, decoders.ignore_unknown, json_names)


def _field_decoder(decoders: Decoders, field: FieldDescriptor) -> FieldDecoder:
    oneof = field.containing_oneof.name if field.containing_oneof is not None else None
    setter = field_setters.setter(
        field,
        decoders.for_type,
        skip_unknown=decoders.ignore_unknown,
        enum_case_insensitive=decoders.enum_case_insensitive,
    )
    null = _null_rule(field)
    return FieldDecoder(field.name, oneof, null, setter, _empty_form(field))


def _empty_form(field: FieldDescriptor) -> type | None:
    if not field.is_repeated:
        return None
    entry = field.message_type
    return dict if entry is not None and entry.GetOptions().map_entry else list


def _null_rule(field: FieldDescriptor) -> Null:
    entry = field.message_type
    if entry is not None and entry.full_name == VALUE:
        return Null.REJECT if field.is_repeated else Null.VALUE
    if field.enum_type is not None and field.enum_type.full_name == NULL_VALUE:
        return Null.REJECT if field.is_repeated else Null.ZERO
    return Null.CLEAR
