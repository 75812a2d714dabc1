"""Field resolution: check that an HTTP rule's variables, body and response_body name real fields.

Input: a message descriptor and a field path or field name from the rule. Output: the path in
proto field names (JSON names are accepted, as the reference accepts them), or a
`FieldPathError` saying which name fails and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.descriptor import Descriptor, FieldDescriptor

# Messages whose JSON form is one string or number, so one path segment can carry them. The
# reference and grpc-gateway both accept these in path and query bindings.
SCALAR_MESSAGES = frozenset(
    {
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    }
)


MAX_LISTED = 12  # field names quoted in an error message


class FieldPathError(ValueError):
    """A rule names a field that does not exist or cannot take the value."""


def resolve_variable(message: Descriptor, field_path: Sequence[str]) -> tuple[str, ...]:
    """The proto names of a path variable's field path.

    Every name but the last must be a singular message field; the last must be a singular
    non-message field or a message of `SCALAR_MESSAGES`.
    """
    names: list[str] = []
    current = message
    for depth, name in enumerate(field_path):
        field = find_field(current, name, path=names)
        names.append(field.name)
        if depth < len(field_path) - 1:
            current = _through(field, names)
        else:
            _check_leaf(field, names)
    return tuple(names)


def resolve_body(message: Descriptor, name: str) -> str:
    """The proto names of an HTTP rule's `body` field path, joined with dots.

    `body: "shelf"` names a top-level field; `body: "update.content"` a field inside one (as
    Envoy and grpc-httpjson-transcoding accept): every name but the last must then be a
    singular message field. The last may be any field.
    """
    names: list[str] = []
    current = message
    parts = name.split(".")
    for depth, part in enumerate(parts):
        field = find_field(current, part, path=names, role="body")
        names.append(field.name)
        if depth < len(parts) - 1:
            current = _through(field, names)
    return ".".join(names)


def resolve_top_level(message: Descriptor, name: str, *, role: str) -> str:
    """The proto name of a top-level field named by `body` or `response_body`."""
    if "." in name:
        raise FieldPathError(
            f"{role} {name!r} must name a top-level field of {message.full_name}"
            " (google/api/http.proto)"
        )
    return find_field(message, name, path=[], role=role).name


def find_field(
    message: Descriptor, name: str, *, path: Sequence[str], role: str = "field"
) -> FieldDescriptor:
    """A field by proto name, then by JSON name; raises FieldPathError listing what exists."""
    field = message.fields_by_name.get(name)
    if field is None:
        field = next((f for f in message.fields if f.json_name == name), None)
    if field is None:
        where = f" (in {'.'.join(path)})" if path else ""
        known = ", ".join(f.name for f in message.fields[:MAX_LISTED]) or "none"
        if len(message.fields) > MAX_LISTED:
            known += ", ..."
        raise FieldPathError(
            f"{role} {name!r}{where} is not a field of {message.full_name} (fields: {known})"
        )
    return field


def _through(field: FieldDescriptor, names: Sequence[str]) -> Descriptor:
    path = ".".join(names)
    if _is_map(field):
        raise FieldPathError(f"{path!r} is a map field; a field path cannot go through it")
    if field.is_repeated:
        raise FieldPathError(f"{path!r} is a repeated field; a field path cannot go through it")
    if field.message_type is None:
        raise FieldPathError(f"{path!r} is {_kind(field)}, not a message")
    return field.message_type


def _check_leaf(field: FieldDescriptor, names: Sequence[str]) -> None:
    path = ".".join(names)
    if _is_map(field):
        raise FieldPathError(f"{path!r} is a map field; a path variable binds one value")
    if field.is_repeated:
        raise FieldPathError(f"{path!r} is a repeated field; a path variable binds one value")
    message = field.message_type
    if message is not None and message.full_name not in SCALAR_MESSAGES:
        raise FieldPathError(
            f"{path!r} is a message field ({message.full_name}); bind one of its fields"
            + _example(path, message)
        )


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def _kind(field: FieldDescriptor) -> str:
    if field.enum_type is not None:
        return f"an enum field ({field.enum_type.full_name})"
    name = _TYPE_NAMES.get(field.type, "scalar")
    return f"{'an' if name.startswith('int') else 'a'} {name} field"


def _example(path: str, message: Descriptor) -> str:
    scalars = [f.name for f in message.fields if f.message_type is None and not f.is_repeated]
    return f", such as {path}.{scalars[0]}" if scalars else ""


_TYPE_NAMES = {
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_FIXED64: "fixed64",
    FieldDescriptor.TYPE_FIXED32: "fixed32",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_SFIXED32: "sfixed32",
    FieldDescriptor.TYPE_SFIXED64: "sfixed64",
    FieldDescriptor.TYPE_SINT32: "sint32",
    FieldDescriptor.TYPE_SINT64: "sint64",
}
