"""Well-known types from JSON: Any, Struct/Value/ListValue, wrappers, Timestamp and friends.

Input: a well-known message and a parsed JSON value. Output: the message filled as json_format
fills it, or `Invalid` naming each problem. Struct, Value and ListValue do not depend on the
options, so they are plain functions calling each other; Any and wrappers are compiled.
"""

from __future__ import annotations

from typing import Any, Protocol

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from grpc_transcoder.json import wellknown_text
from grpc_transcoder.json.decode import scalar_parsers
from grpc_transcoder.json.problems import (
    MAX_DEPTH,
    Invalid,
    Problems,
    expected,
    invalid,
    prefixed,
    show,
    too_deep,
)
from grpc_transcoder.json.wellknown import (
    ANY,
    DURATION,
    FIELD_MASK,
    LIST_VALUE,
    STRUCT,
    TIMESTAMP,
    VALUE,
    VALUE_IN_ANY,
    MessageDecode,
    Source,
    is_wrapper,
)

TIMESTAMP_TEXT = 'an RFC 3339 timestamp such as "2024-01-31T12:00:00Z"'
DURATION_TEXT = 'a duration in seconds such as "1.5s"'
FIELD_MASK_TEXT = 'a field mask such as "title,author.displayName"'
_EXACT = 2**53  # integers up to this size become a double unchanged


class DecodingSource(Source, Protocol):
    def any_content(
        self, descriptor: Descriptor, message: Message, value: dict[Any, Any], depth: int
    ) -> None:
        """Decode the fields of a regular message inlined in an Any (depth: the Any's)."""


def decoder(source: DecodingSource, descriptor: Descriptor) -> MessageDecode | None:
    """The decoder of a well-known type; None for other types."""
    if is_wrapper(descriptor):
        return _wrapper_decoder(descriptor)
    if descriptor.full_name == ANY:
        return _any_decoder(source)
    return _DECODERS.get(descriptor.full_name)


def _wrapper_decoder(descriptor: Descriptor) -> MessageDecode:
    parse = scalar_parsers.parser(descriptor.fields_by_name["value"])

    def decode(message: Any, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise too_deep()
        converted = parse.convert(value)
        try:
            message.value = converted
        except (ValueError, TypeError):  # a string that is not valid UTF-8 (surrogates)
            raise expected(parse.expected, value) from None

    return decode


def decode_timestamp(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    if not isinstance(value, str):
        raise expected(TIMESTAMP_TEXT, value)
    try:
        parsed = wellknown_text.parse_timestamp(value)
        if parsed is None:  # an unusual spelling: protobuf's own parser decides
            message.FromJsonString(value)
        else:
            message.seconds, message.nanos = parsed
    except (ValueError, OverflowError) as exc:
        raise expected(TIMESTAMP_TEXT, value, str(exc)) from None


def decode_duration(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    try:
        message.seconds, message.nanos = wellknown_text.parse_duration(value)
    except ValueError as exc:
        raise expected(DURATION_TEXT, value, str(exc)) from None


def decode_field_mask(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    try:
        wellknown_text.parse_field_mask(message, value)
    except ValueError as exc:
        raise expected(FIELD_MASK_TEXT, value, str(exc)) from None


def decode_struct(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    if not isinstance(value, dict):
        raise expected("a JSON object", value)
    message.Clear()
    fields = message.fields
    problems: Problems | None = None
    for key, item in value.items():
        try:
            if not isinstance(key, str):
                raise invalid("keys must be strings")
            decode_value(fields[key], item, depth + 1)
        except Invalid as exc:
            problems = prefixed(problems, f"[{show(key)}]", exc)
    if problems is not None:
        raise Invalid(problems)


def decode_list(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    if not isinstance(value, list | tuple):
        raise expected("a JSON array", value)
    message.ClearField("values")
    values = message.values
    problems: Problems | None = None
    for index, item in enumerate(value):
        try:
            decode_value(values.add(), item, depth + 1)
        except Invalid as exc:
            problems = prefixed(problems, f"[{index}]", exc)
    if problems is not None:
        raise Invalid(problems)


def decode_value(message: Any, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()
    kind = type(value)
    if kind is str and value.isascii():
        message.string_value = value
    elif kind is float or (kind is int and -_EXACT <= value <= _EXACT):
        message.number_value = value
    elif isinstance(value, dict):
        decode_struct(message.struct_value, value, depth + 1)
    elif isinstance(value, list | tuple):
        decode_list(message.list_value, value, depth + 1)
    elif value is None:
        message.null_value = 0
    else:
        _set_value_scalar(message, value)


def _set_value_scalar(message: Any, value: Any) -> None:
    try:
        if isinstance(value, bool):
            message.bool_value = value
        elif isinstance(value, str):
            message.string_value = value
        elif isinstance(value, int | float):
            message.number_value = value
        else:
            raise expected("a JSON value", value)
    except (ValueError, OverflowError):  # surrogates in a string, an int beyond a double
        raise expected("a JSON value", value, "not representable") from None


def _any_decoder(source: DecodingSource) -> MessageDecode:
    def decode(message: Any, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise too_deep()
        if not isinstance(value, dict):
            raise expected('a JSON object with "@type"', value)
        if not value:
            return
        contained, type_url = _any_type(source, value)
        inner = message_factory.GetMessageClass(contained)()
        if is_wrapper(contained) or contained.full_name in VALUE_IN_ANY:
            _any_value(source, contained, inner, value, depth)
        else:
            content = {key: item for key, item in value.items() if key != "@type"}
            source.any_content(contained, inner, content, depth)
        message.value = inner.SerializeToString()
        message.type_url = type_url

    return decode


def _any_type(source: DecodingSource, value: dict[Any, Any]) -> tuple[Descriptor, str]:
    if "@type" not in value:
        raise invalid('"@type" is missing: an Any needs the type URL of its content')
    type_url = value["@type"]
    if not isinstance(type_url, str):
        raise Invalid([(".@type", f"expected a type URL string, got {show(type_url)}")])
    contained = source.types.find(type_url)
    if contained is None:
        raise Invalid([(".@type", f"unknown type {show(type_url)}: not in the descriptors")])
    return contained, type_url


def _any_value(
    source: DecodingSource, contained: Descriptor, inner: Message, value: dict[Any, Any], depth: int
) -> None:
    if "value" not in value:
        raise invalid(f'"value" is missing: an Any holding {contained.full_name} nests it there')
    decode: MessageDecode = source.for_type(contained)
    try:  # json_format counts a nested well-known type as one level deeper, a wrapper not
        decode(inner, value["value"], depth if is_wrapper(contained) else depth + 1)
    except Invalid as exc:
        raise Invalid(prefixed(None, ".value", exc)) from None


_DECODERS: dict[str, MessageDecode] = {
    STRUCT: decode_struct,
    VALUE: decode_value,
    LIST_VALUE: decode_list,
    TIMESTAMP: decode_timestamp,
    DURATION: decode_duration,
    FIELD_MASK: decode_field_mask,
}
