"""Well-known types to JSON: Any, Struct/Value/ListValue, wrappers, Timestamp, Duration, FieldMask.

Input: a well-known message descriptor (at compile time), then messages. Output: their special
JSON forms, exactly as json_format prints them. Also the names and the `Any` type-URL resolver
shared with `decode/wellknown.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from grpc_transcoder.json import scalars, wellknown_text

MessageDecode = Callable[[Message, Any, int], None]  # (message, JSON value, depth)
Encode = Callable[[Message], Any]  # message -> JSON value

ANY = "google.protobuf.Any"
STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
LIST_VALUE = "google.protobuf.ListValue"
NULL_VALUE = "google.protobuf.NullValue"
TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
FIELD_MASK = "google.protobuf.FieldMask"
WRAPPERS_FILE = "google/protobuf/wrappers.proto"
# The types json_format nests under "value" inside an Any (wrappers too); others are inlined.
VALUE_IN_ANY = frozenset({ANY, STRUCT, VALUE, LIST_VALUE, TIMESTAMP, DURATION, FIELD_MASK})


class TypeUrls:
    """Resolves Any type URLs in one pool: the last path segment names the message type.

    Types found are kept by type name, never by URL: the prefix is whatever the client or the
    backend chose, while the names that resolve are the pool's own, so the cache is bounded.
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool
        self._found: dict[str, Descriptor] = {}  # hits only: misses come from callers

    def __len__(self) -> int:
        """How many types are cached (at most the pool's message types)."""
        return len(self._found)

    def find(self, type_url: str) -> Descriptor | None:
        name = type_url.rpartition("/")[2]
        found = self._found.get(name)
        if found is None:
            try:
                found = self._pool.FindMessageTypeByName(name)
            except KeyError:
                return None
            self._found[name] = found
        return found


class Source(Protocol):
    """What well-known converters need from the codec: other types' converters, type URLs."""

    @property
    def types(self) -> TypeUrls: ...

    def for_type(self, descriptor: Descriptor) -> Any:
        """The encoder or decoder of a message type."""


def is_wrapper(descriptor: Descriptor) -> bool:
    return bool(descriptor.file.name == WRAPPERS_FILE)


class UnknownTypeError(LookupError):
    """An Any names a type that is not in the descriptor pool."""

    def __init__(self, type_url: str) -> None:
        super().__init__(f"the Any type {type_url!r} is not in the loaded descriptors")
        self.type_url = type_url


def encoder(source: Source, descriptor: Descriptor) -> Encode | None:
    """The encoder of a well-known type; None for other types.

    Encoders raise ValueError for values JSON cannot carry (a NaN Value, a Timestamp outside
    years 1-9999) and UnknownTypeError for an Any whose type is not in the pool.
    """
    if is_wrapper(descriptor):
        convert = scalars.printer(descriptor.fields_by_name["value"], enums_as_ints=False)
        if convert is None:
            return _value_of
        return lambda message: convert(message.value)  # type: ignore[attr-defined]
    if descriptor.full_name == ANY:
        return _any_encoder(source)
    if descriptor.full_name in _JSON_VALUES:
        value_type = descriptor.file.message_types_by_name["Value"]
        value_class = message_factory.GetMessageClass(value_type)
        return _json_value_encoders(value_class)[descriptor.full_name]
    return _ENCODERS.get(descriptor.full_name)


def _value_of(message: Any) -> Any:
    return message.value


def _json_value_encoders(value_class: Any) -> dict[str, Encode]:
    """Encoders of Struct, Value and ListValue, which print the same under every option.

    They call each other directly, where compiled encoders would need a late-bound hop for the
    recursion, and share the Value class's own unbound WhichOneof: on a upb message, looking
    the method up costs more than calling it.
    """
    which = value_class.WhichOneof

    def encode_struct(message: Any) -> dict[str, Any]:
        fields = message.fields  # map containers have no C-level items(): index by key
        printed = {}
        for key in fields:  # a loop, not a comprehension: no extra call in Python 3.11
            value = fields[key]
            kind = which(value, "kind")
            # Scalars inline: they are most values, and a call costs as much as the rest.
            if kind in _PLAIN:
                printed[key] = getattr(value, kind)
            elif kind == "number_value" and (number := value.number_value) - number == 0.0:
                printed[key] = number
            else:
                printed[key] = encode_kind(value, kind)
        return printed

    def encode_list(message: Any) -> list[Any]:
        printed = []
        for value in message.values:
            kind = which(value, "kind")
            if kind in _PLAIN:
                printed.append(getattr(value, kind))
            elif kind == "number_value" and (number := value.number_value) - number == 0.0:
                printed.append(number)
            else:
                printed.append(encode_kind(value, kind))
        return printed

    def encode_value(message: Any) -> Any:
        kind = which(message, "kind")
        return getattr(message, kind) if kind in _PLAIN else encode_kind(message, kind)

    def encode_kind(message: Any, kind: str | None) -> Any:
        if kind == "number_value":
            number: float = message.number_value
            if number - number != 0.0:
                raise ValueError(
                    f"a Value cannot hold {number} in JSON: it would read back as a string"
                )
            return number
        if kind == "struct_value":
            return encode_struct(message.struct_value)
        if kind == "list_value":
            return encode_list(message.list_value)
        return None  # null_value, or nothing set

    return {STRUCT: encode_struct, VALUE: encode_value, LIST_VALUE: encode_list}


_PLAIN = frozenset({"string_value", "bool_value"})
_JSON_VALUES = frozenset({STRUCT, VALUE, LIST_VALUE})


def _any_encoder(source: Source) -> Encode:
    def encode(message: Any) -> Any:
        type_url: str = message.type_url
        data: bytes = message.value
        if not type_url and not data:
            return {}
        contained = source.types.find(type_url)
        if contained is None:
            raise UnknownTypeError(type_url)
        inner = message_factory.GetMessageClass(contained).FromString(data)
        encode_inner: Encode = source.for_type(contained)
        if is_wrapper(contained) or contained.full_name in VALUE_IN_ANY:
            return {"@type": type_url, "value": encode_inner(inner)}
        return {"@type": type_url, **encode_inner(inner)}

    return encode


_ENCODERS: dict[str, Encode] = {
    TIMESTAMP: wellknown_text.format_timestamp,
    DURATION: wellknown_text.format_duration,
    FIELD_MASK: wellknown_text.format_field_mask,
}
