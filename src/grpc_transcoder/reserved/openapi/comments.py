"""OpenAPI descriptions: the comments of the .proto files, read from descriptor sets' source info.

Input: serialized FileDescriptorSets (built with source info, as `descriptors build` does).
Output: the comment of each element by its full name: messages, fields, oneofs, enums, enum
values (`pkg.Enum.VALUE`), services and methods (`pkg.Service.Method`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

# Field numbers of descriptor.proto that source-info paths are made of.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM, _MESSAGE_ONEOF = 2, 3, 4, 8
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

Path = tuple[int, ...]


def comments(sets: Iterable[bytes]) -> dict[str, str]:
    """Comments by full element name; sets that do not parse or carry no source info add none."""
    found: dict[str, str] = {}
    for data in sets:
        try:
            files = descriptor_pb2.FileDescriptorSet.FromString(data).file
        except DecodeError:
            continue
        for file in files:
            found.update(file_comments(file))
    return found


def file_comments(file: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    names = dict(_names(file))
    found: dict[str, str] = {}
    for location in file.source_code_info.location:
        name = names.get(tuple(location.path))
        text = clean(location.leading_comments or location.trailing_comments)
        if name and text:
            found[name] = text
    return found


def clean(comment: str) -> str:
    """The comment without the one space protoc leaves after `//`, trimmed."""
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(lines).strip()


def _names(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[Path, str]]:
    prefix = f"{file.package}." if file.package else ""
    for index, message in enumerate(file.message_type):
        yield from _message(message, (_FILE_MESSAGE, index), prefix + message.name)
    for index, enum in enumerate(file.enum_type):
        yield from _enum(enum, (_FILE_ENUM, index), prefix + enum.name)
    for index, service in enumerate(file.service):
        name = prefix + service.name
        yield (_FILE_SERVICE, index), name
        for number, method in enumerate(service.method):
            yield (_FILE_SERVICE, index, _SERVICE_METHOD, number), f"{name}.{method.name}"


def _message(
    message: descriptor_pb2.DescriptorProto, path: Path, name: str
) -> Iterator[tuple[Path, str]]:
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}"
    for index, oneof in enumerate(message.oneof_decl):
        yield (*path, _MESSAGE_ONEOF, index), f"{name}.{oneof.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message(nested, (*path, _MESSAGE_NESTED, index), f"{name}.{nested.name}")
    for index, enum in enumerate(message.enum_type):
        yield from _enum(enum, (*path, _MESSAGE_ENUM, index), f"{name}.{enum.name}")


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto, path: Path, name: str
) -> Iterator[tuple[Path, str]]:
    yield path, name
    for index, value in enumerate(enum.value):
        yield (*path, _ENUM_VALUE, index), f"{name}.{value.name}"
