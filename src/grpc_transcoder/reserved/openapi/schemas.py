"""OpenAPI schemas: JSON Schemas of messages and fields that follow the proto3 JSON mapping.

Input: descriptors of the loaded pool and the comments of the protos. Output: schemas, with each
message and enum defined once in `components` and referenced by `$ref` (recursion included).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from grpc_transcoder.errors import Code
from grpc_transcoder.loading.merge import varint
from grpc_transcoder.settings import ErrorFormat

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"
STATUS_SCHEMA = "google.rpc.Status"
GOOGLE_ERROR_SCHEMA = "grpc-transcoder.GoogleError"
STREAM_ERROR_SCHEMA = "StreamError"
INT64_PATTERN = "^-?[0-9]+$"
UINT64_PATTERN = "^[0-9]+$"
# Standard or URL-safe base64, padding optional (output is standard and padded).
BASE64_PATTERN = "^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$"
DURATION_PATTERN = r"^-?[0-9]+(\.[0-9]{1,9})?s$"
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
FIELD_MASK_PATTERN = f"^(?:{_PATH}(?:,{_PATH})*)?$"
NON_FINITE = ("NaN", "Infinity", "-Infinity")

_F = FieldDescriptor


def _number(format_name: str) -> Schema:
    # proto3 JSON prints NaN and the infinities as strings.
    return {
        "anyOf": [
            {"type": "number", "format": format_name},
            {"type": "string", "enum": list(NON_FINITE)},
        ]
    }


SCALARS: Mapping[int, Schema] = {
    _F.TYPE_DOUBLE: _number("double"),
    _F.TYPE_FLOAT: _number("float"),
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    _F.TYPE_FIXED32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    # 64-bit integers are strings in proto3 JSON (numbers are accepted on input).
    _F.TYPE_INT64: {"type": "string", "format": "int64", "pattern": INT64_PATTERN},
    _F.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": INT64_PATTERN},
    _F.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": INT64_PATTERN},
    _F.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": UINT64_PATTERN},
    _F.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": UINT64_PATTERN},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64", "pattern": BASE64_PATTERN},
}

_WRAPPED = {
    "DoubleValue": _F.TYPE_DOUBLE,
    "FloatValue": _F.TYPE_FLOAT,
    "Int64Value": _F.TYPE_INT64,
    "UInt64Value": _F.TYPE_UINT64,
    "Int32Value": _F.TYPE_INT32,
    "UInt32Value": _F.TYPE_UINT32,
    "BoolValue": _F.TYPE_BOOL,
    "StringValue": _F.TYPE_STRING,
    "BytesValue": _F.TYPE_BYTES,
}

WELL_KNOWN: Mapping[str, Schema] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 time, e.g. `2024-01-31T12:00:00Z`.",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "Seconds with up to 9 decimals and an `s` suffix, e.g. `1.5s`.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "pattern": FIELD_MASK_PATTERN,
        "description": "Comma-separated field paths in lowerCamelCase, e.g. `title,pageCount`.",
    },
    "google.protobuf.Struct": {"type": "object", "description": "Any JSON object."},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}, "description": "Any JSON array."},
    "google.protobuf.Empty": {"type": "object", "maxProperties": 0},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string", "description": "The type URL."}},
        "description": "A message of the type `@type` names, in its JSON form.",
    },
    **{f"google.protobuf.{name}": dict(SCALARS[kind]) for name, kind in _WRAPPED.items()},
}


@dataclass(frozen=True, slots=True)
class SchemaOptions:
    """How the transcoder prints and parses JSON (from the settings of the same name)."""

    use_proto_names: bool = False
    enums_as_ints: bool = False
    closed_objects: bool = True  # request objects: additionalProperties false (rejected)


INPUT_SUFFIX = "-Input"  # request-side components (a suffix no proto name can have)
# google.api.field_behavior (google/api/field_behavior.proto): extension 1052 of FieldOptions.
FIELD_BEHAVIOR = 1052
REQUIRED, OUTPUT_ONLY, INPUT_ONLY = 2, 3, 4


class Schemas:
    """Builds schemas and collects the component definitions they refer to.

    Messages get two components: `<full name>` for responses, open to properties it does not
    list (a newer descriptor set may add fields without breaking strict clients), and
    `<full name>-Input` for requests (`requests`, a twin sharing the components): closed with
    `closed_objects`, and listing the `google.api.field_behavior` REQUIRED fields as required.
    OUTPUT_ONLY fields are `readOnly`, INPUT_ONLY ones `writeOnly`, `deprecated` options are
    `deprecated: true`, in both.
    """

    def __init__(
        self,
        *,
        comments: Mapping[str, str] | None = None,
        options: SchemaOptions | None = None,
        components: dict[str, Schema] | None = None,
        closed: bool = False,
    ) -> None:
        self.comments: Mapping[str, str] = comments or {}
        self.options = options or SchemaOptions()
        self.components: dict[str, Schema] = {} if components is None else components
        self._input = closed
        self._suffix = INPUT_SUFFIX if closed else ""
        self.requests: Schemas = self
        if not closed:
            self.requests = Schemas(
                comments=comments, options=options, components=self.components, closed=True
            )

    def property_name(self, field: FieldDescriptor) -> str:
        return field.name if self.options.use_proto_names else field.json_name

    def message(self, descriptor: Descriptor) -> Schema:
        """A reference to the message's schema (well-known types inline)."""
        well_known = WELL_KNOWN.get(descriptor.full_name)
        if well_known is not None:
            return dict(well_known)
        name = descriptor.full_name + self._suffix
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursion ends here
            self.components[name] = self.message_object(descriptor)
        return {"$ref": REF_PREFIX + name}

    def message_object(
        self, descriptor: Descriptor, *, without: Collection[tuple[str, ...]] = ()
    ) -> Schema:
        """The object schema of a message, leaving out the fields at the paths in `without`."""
        skipped = {path[0] for path in without if len(path) == 1}
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for field in descriptor.fields:
            if field.name in skipped:
                continue
            nested = [path[1:] for path in without if len(path) > 1 and path[0] == field.name]
            name = self.property_name(field)
            properties[name] = prop = self.field(field, without=nested)
            behaviors = field_behaviors(field)
            if OUTPUT_ONLY in behaviors:
                prop["readOnly"] = True
            if INPUT_ONLY in behaviors:
                prop["writeOnly"] = True
            if REQUIRED in behaviors and self._input:
                required.append(name)
            if field.GetOptions().deprecated:
                prop["deprecated"] = True
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if self._input and self.options.closed_objects:
            schema["additionalProperties"] = False
        if descriptor.GetOptions().deprecated:
            schema["deprecated"] = True
        schema.update(self._oneof_rule(descriptor, skipped))
        return _described(schema, self.comments.get(descriptor.full_name))

    def field(self, field: FieldDescriptor, *, without: Collection[tuple[str, ...]] = ()) -> Schema:
        """The schema of a field's JSON value: repeated fields are arrays, maps objects."""
        entry = _map_entry(field)
        if entry is not None:
            key, value = entry.fields
            schema: Schema = {"type": "object", "additionalProperties": self.value(value)}
            key_names = _map_key(key)
            if key_names:
                schema["propertyNames"] = key_names
        elif field.is_repeated:
            schema = {"type": "array", "items": self.value(field)}
        else:
            schema = self.value(field, without=without)
        return _described(schema, self.comments.get(field.full_name))

    def value(self, field: FieldDescriptor, *, without: Collection[tuple[str, ...]] = ()) -> Schema:
        """The schema of one value of the field (an element, for repeated fields)."""
        if field.enum_type is not None:
            return self.enum(field.enum_type)
        message = field.message_type
        if message is not None:
            if without and message.full_name not in WELL_KNOWN:
                return self.message_object(message, without=without)
            return self.message(message)
        return dict(SCALARS[field.type])

    def enum(self, descriptor: EnumDescriptor) -> Schema:
        if descriptor.full_name == "google.protobuf.NullValue":
            return {"type": "null"}
        if descriptor.full_name not in self.components:
            self.components[descriptor.full_name] = self._enum_schema(descriptor)
        return {"$ref": REF_PREFIX + descriptor.full_name}

    def _enum_schema(self, descriptor: EnumDescriptor) -> Schema:
        if self.options.enums_as_ints:
            schema: Schema = {"type": "integer", "enum": [v.number for v in descriptor.values]}
        else:
            schema = {"type": "string", "enum": [v.name for v in descriptor.values]}
        lines = [self.comments.get(descriptor.full_name, "")]
        for value in descriptor.values:
            comment = self.comments.get(f"{descriptor.full_name}.{value.name}")
            if comment:
                lines.append(f"- `{value.name}`: {comment}")
        return _described(schema, "\n".join(line for line in lines if line))

    def _oneof_rule(self, descriptor: Descriptor, skipped: Collection[str]) -> Schema:
        """At most one member of each oneof may be set."""
        pairs: list[Schema] = []
        for oneof in descriptor.oneofs:
            names = [self.property_name(f) for f in oneof.fields if f.name not in skipped]
            pairs.extend(
                {"required": [first, second]}
                for index, first in enumerate(names)
                for second in names[index + 1 :]
            )
        if len(pairs) == 1:
            return {"not": pairs[0]}
        return {"not": {"anyOf": pairs}} if pairs else {}


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry type of a map field; None for other fields."""
    entry = field.message_type
    if entry is None or not field.is_repeated or not entry.GetOptions().map_entry:
        return None
    return entry


def _map_key(key: FieldDescriptor) -> Schema:
    """Map keys are strings in JSON; integer and bool keys are their decimal or text form."""
    if key.type == _F.TYPE_BOOL:
        return {"enum": ["true", "false"]}
    if key.type == _F.TYPE_STRING:
        return {}
    return {"pattern": UINT64_PATTERN if key.type in _UNSIGNED else INT64_PATTERN}


_UNSIGNED = (_F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_FIXED32, _F.TYPE_FIXED64)


def is_well_known(descriptor: Descriptor) -> bool:
    return descriptor.full_name in WELL_KNOWN


def field_behaviors(field: FieldDescriptor) -> frozenset[int]:
    """The google.api.field_behavior values of a field, read from its options' wire form (the
    extension is not registered in Python's default pool, so it arrives as unknown fields)."""
    if not field.has_options:
        return frozenset()
    data = field.GetOptions().SerializeToString()
    found: set[int] = set()
    position = 0
    try:
        while position < len(data):
            key, position = varint(data, position)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, position = varint(data, position)
                if number == FIELD_BEHAVIOR:
                    found.add(value)
            elif wire == 2:
                size, position = varint(data, position)
                end = position + size
                while number == FIELD_BEHAVIOR and position < end:  # packed
                    value, position = varint(data, position)
                    found.add(value)
                position = end
            elif wire in (1, 5):
                position += 8 if wire == 1 else 4
            else:
                break  # groups: not in FieldOptions
    except DecodeError:
        pass  # malformed options cannot come from protobuf itself; keep what was read
    return frozenset(found)


def _described(schema: Schema, description: str | None) -> Schema:
    if description:
        schema["description"] = description
    return schema


def status_schema() -> Schema:
    """The error body `{code, message, details}` (google.rpc.Status in JSON)."""
    return {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["code", "message", "details"],
        "description": "A gRPC status: `code` is the google.rpc.Code number; `details` are "
        "google.rpc error details, each with its `@type`.",
    }


def google_error_schema() -> Schema:
    """The error body `{error: {code, message, status, details}}` of TRANSCODER_ERROR_FORMAT."""
    inner = status_schema()
    inner["properties"]["code"] = {"type": "integer", "description": "The HTTP status."}
    inner["properties"]["status"] = {"type": "string", "enum": [c.name for c in Code]}
    inner["required"] = ["code", "message", "status", "details"]
    return {"type": "object", "properties": {"error": inner}, "required": ["error"]}


def stream_error_schema(error_format: ErrorFormat) -> Schema:
    """The element that ends a stream failing after some messages: `{"error": ...}`."""
    if error_format is ErrorFormat.GOOGLE:
        schema = google_error_schema()  # already `{"error": {...}}`
    else:
        schema = {
            "type": "object",
            "properties": {"error": {"$ref": REF_PREFIX + STATUS_SCHEMA}},
            "required": ["error"],
        }
    schema["description"] = "The last element of a stream that failed after some messages."
    return schema
