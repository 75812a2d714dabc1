"""Well-known values: Timestamp, Duration, FieldMask, wrappers and JSON types from one string.

Input: a message Descriptor (once per field). Output: a `Converter` from the type's proto3 JSON
string form to a message, or None for messages that are not written as one value.
"""

from __future__ import annotations

import re
from datetime import date

import orjson
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from grpc_transcoder.decoding.field_values import (
    ConversionError,
    Converter,
    JsonDecoder,
    decode_json,
    scalar_converter,
)
from grpc_transcoder.errors import RequestError

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
