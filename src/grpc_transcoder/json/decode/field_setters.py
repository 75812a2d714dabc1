"""JSON field setters: how each kind of field takes its JSON value during decoding.

Input: a field descriptor (at compile time), then a message and a non-null JSON value.
Output: the field set as json_format would set it (repeated fields and maps replaced, messages
merged), or `Invalid` naming the problems, with `[i]` and `["key"]` paths inside containers.
Common values (ASCII strings, in-range integers, enum names) take a fast path to setattr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.json.decode import scalar_parsers as json_scalar_parsers
from grpc_transcoder.json.decode.scalar_parsers import Parser
from grpc_transcoder.json.problems import Invalid, Problems, expected, invalid, prefixed, show
from grpc_transcoder.json.scalars import INT_RANGES, Kind
from grpc_transcoder.json.wellknown import VALUE, MessageDecode

Setter = Callable[[Message, Any, int], None]  # (message, non-null JSON value, depth)


def setter(
    field: FieldDescriptor,
    decoder_for: Callable[[Descriptor], MessageDecode],
    *,
    skip_unknown: bool,
    enum_case_insensitive: bool = False,
) -> Setter:
    """The setter of a field; `skip_unknown` drops unknown enum names in lists and maps;
    `enum_case_insensitive` accepts enum names in any letter case."""
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key = json_scalar_parsers.parser(entry.fields_by_name["key"], map_key=True)
        value = entry.fields_by_name["value"]
        if value.message_type is not None:
            put = _put_message(decoder_for(value.message_type))
        else:
            value_parser = json_scalar_parsers.parser(
                value, enum_case_insensitive=enum_case_insensitive
            )
            put = _put_scalar(value_parser)
        return _map(field.name, key, put, skip_unknown=skip_unknown)
    if entry is not None:
        decode = decoder_for(entry)
        if field.is_repeated:
            null_elements = entry.full_name == VALUE
            return _repeated_message(field.name, decode, null_elements=null_elements)
        return _message(field.name, decode)
    parse = json_scalar_parsers.parser(field, enum_case_insensitive=enum_case_insensitive)
    if field.is_repeated:
        return _repeated_scalar(field.name, parse, skip_unknown=skip_unknown)
    return _scalar(field.name, parse)


def _scalar(attr: str, parse: Parser) -> Setter:
    """A setter whose common values go straight to setattr; the rest through the parser."""
    kind = parse.kind
    if kind is Kind.STRING:
        return _string(attr, parse)
    if kind in INT_RANGES:
        return _integer(attr, parse, *INT_RANGES[kind])
    if parse.names is not None:
        return _enum(attr, parse, parse.names)
    if kind is Kind.BOOL:
        return _boolean(attr, parse)
    if kind is Kind.DOUBLE:
        return _double(attr, parse)
    return lambda message, value, _depth: _assign(message, attr, parse, value)


# One closure per common kind, with the check inline: a call less per field. Methods are taken
# from the message's class (`type(message).ClearField(message, ...)`): looking a method up on a
# upb message searches its fields first and costs more than the call itself.


def _string(attr: str, parse: Parser) -> Setter:
    def set_string(message: Message, value: Any, _depth: int) -> None:
        if type(value) is str and value.isascii():
            setattr(message, attr, value)
        else:
            _assign(message, attr, parse, value)

    return set_string


def _integer(attr: str, parse: Parser, low: int, high: int) -> Setter:
    def set_integer(message: Message, value: Any, _depth: int) -> None:
        if type(value) is str:  # 64-bit integers arrive as strings
            digits = value[1:] if value[:1] == "-" else value
            if (
                len(digits) <= 20
                and digits.isdecimal()
                and digits.isascii()
                and low <= int(value) <= high
            ):
                setattr(message, attr, int(value))
                return
        elif type(value) is int and low <= value <= high:
            setattr(message, attr, value)
            return
        _assign(message, attr, parse, value)

    return set_integer


def _enum(attr: str, parse: Parser, names: Mapping[str, int]) -> Setter:
    def set_enum(message: Message, value: Any, _depth: int) -> None:
        number = names.get(value) if type(value) is str else None
        if number is None:
            _assign(message, attr, parse, value)
        else:
            setattr(message, attr, number)

    return set_enum


def _boolean(attr: str, parse: Parser) -> Setter:
    def set_boolean(message: Message, value: Any, _depth: int) -> None:
        if value is True or value is False:
            setattr(message, attr, value)
        else:
            _assign(message, attr, parse, value)

    return set_boolean


def _double(attr: str, parse: Parser) -> Setter:
    def set_double(message: Message, value: Any, _depth: int) -> None:
        if type(value) is float and value - value == 0.0:  # finite
            setattr(message, attr, value)
        else:
            _assign(message, attr, parse, value)

    return set_double


def _assign(message: Message, attr: str, parse: Parser, value: Any) -> None:
    converted = parse.convert(value)
    try:
        setattr(message, attr, converted)
    except (ValueError, TypeError):  # a string that is not valid UTF-8 (surrogates)
        raise expected(parse.expected, value) from None


def _message(attr: str, decode: MessageDecode) -> Setter:
    def set_message(message: Message, value: Any, depth: int) -> None:
        child = getattr(message, attr)
        type(child).SetInParent(child)
        decode(child, value, depth + 1)

    return set_message


def _repeated_scalar(attr: str, parse: Parser, *, skip_unknown: bool) -> Setter:
    convert = parse.convert

    def set_repeated(message: Message, value: Any, _depth: int) -> None:
        type(message).ClearField(message, attr)
        if not isinstance(value, list | tuple):
            raise expected("a JSON array", value)
        container = getattr(message, attr)
        try:
            container.extend([convert(item) for item in value])
        except (Invalid, ValueError, TypeError):
            _append_one_by_one(parse, container, value, skip_unknown=skip_unknown)

    return set_repeated


def _append_one_by_one(
    parse: Parser, container: Any, value: Sequence[Any], *, skip_unknown: bool
) -> None:
    problems: Problems | None = None
    for index, item in enumerate(value):
        try:
            converted = parse.convert(item)
            try:
                container.append(converted)
            except (ValueError, TypeError):
                raise expected(parse.expected, item) from None
        except Invalid as exc:
            if not (exc.skippable and skip_unknown):
                problems = prefixed(problems, f"[{index}]", exc)
    if problems is not None:
        raise Invalid(problems)


def _repeated_message(attr: str, decode: MessageDecode, *, null_elements: bool) -> Setter:
    def set_repeated(message: Message, value: Any, depth: int) -> None:
        type(message).ClearField(message, attr)
        if not isinstance(value, list | tuple):
            raise expected("a JSON array", value)
        container = getattr(message, attr)
        problems: Problems | None = None
        for index, item in enumerate(value):
            child = container.add()
            try:
                if item is None and not null_elements:
                    raise invalid("null is not allowed as an element of a repeated field")
                decode(child, item, depth + 1)
            except Invalid as exc:
                problems = prefixed(problems, f"[{index}]", exc)
        if problems is not None:
            raise Invalid(problems)

    return set_repeated


Put = Callable[[Any, Any, Any, int], None]  # (map container, parsed key, JSON value, depth)


def _put_scalar(parse: Parser) -> Put:
    def put(container: Any, key: Any, item: Any, _depth: int) -> None:
        converted = parse.convert(item)
        try:
            container[key] = converted
        except (ValueError, TypeError):  # strings that are not valid UTF-8 (surrogates)
            raise invalid(f"the key or the value is not valid UTF-8: {show(item)}") from None

    return put


def _put_message(decode: MessageDecode) -> Put:
    def put(container: Any, key: Any, item: Any, depth: int) -> None:
        try:
            entry = container[key]
        except (ValueError, TypeError):  # a key that is not valid UTF-8 (surrogates)
            raise invalid("the key is not valid UTF-8") from None
        decode(entry, item, depth + 1)

    return put


def _map(attr: str, key: Parser, put: Put, *, skip_unknown: bool) -> Setter:
    def set_map(message: Message, item: Any, depth: int) -> None:
        type(message).ClearField(message, attr)
        if not isinstance(item, dict):
            raise expected(f"a JSON object (a map with {key.kind.value} keys)", item)
        container = getattr(message, attr)
        problems: Problems | None = None
        for raw_key, entry in item.items():
            try:
                put(container, key.convert(raw_key), entry, depth)
            except Invalid as exc:
                if not (exc.skippable and skip_unknown):
                    problems = prefixed(problems, f"[{show(raw_key)}]", exc)
        if problems is not None:
            raise Invalid(problems)

    return set_map
