"""Descriptor merging: parse FileDescriptorSets and add their files to one private pool.

Input: `Blob`s. Output: a `Merged` pool (dependencies added first, the bundled
standard files filling any gap) and every problem found, collected rather than raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from grpc_transcoder.loading.blob import Blob

HTTP_RULE_EXTENSION = "google.api.http"
STANDARD_SET = "standard.binpb"
BUNDLED = "(bundled)"

# The parsed protos come from the bootstrap pool's classes, not from descriptor_pb2 (see
# `_Bootstrap`); they have exactly the same fields, so they are typed as descriptor_pb2's.
FileProto = descriptor_pb2.FileDescriptorProto
ServiceProto = descriptor_pb2.ServiceDescriptorProto
_FILE_FIELD_TAG = 0x0A  # FileDescriptorSet.file: field 1, length-delimited


@dataclass(frozen=True, slots=True)
class SourcedFile:
    """A file of a set as merging needs it, and the URI of the set (or BUNDLED) it came from.

    Only the file's bytes and a few facts are kept, each file parsed on its own and let go: a
    whole parsed set holds every message and field in protobuf's memory at once, about 9 MB
    for 5,000 types, and raised the cold start's peak while the pool was built.
    """

    name: str
    data: bytes  # the serialized FileDescriptorProto, as it is in the set
    source: str
    package: str
    dependencies: tuple[str, ...]
    services: tuple[ServiceProto, ...]  # standalone copies; google.api.http is readable


@dataclass(frozen=True, slots=True)
class Merged:
    pool: descriptor_pool.DescriptorPool
    files: tuple[str, ...]  # every file added to the pool, dependencies first
    user_files: tuple[SourcedFile, ...]  # files of the sets (not bundled) that were added
    without_services: tuple[str, ...]  # URIs of sets none of whose files declares a service
    notes: tuple[str, ...]  # harmless oddities worth a log line


@dataclass(frozen=True, slots=True)
class _Bootstrap:
    """A private pool holding only the bundled standard files, built once per process.

    Files are parsed with this pool's FileDescriptorProto class, in which google.api.http is a
    known extension of MethodOptions. The HTTP rules are therefore read through a private pool,
    never through whichever `*_pb2` modules Python happened to import first, and parsing each
    file once is about four times cheaper than re-parsing every method's options.
    """

    file_class: type[Message]
    http: Any  # the google.api.http FieldDescriptor
    standard: Mapping[str, SourcedFile]


@cache
def _bootstrap() -> _Bootstrap:
    data = resources.files("grpc_transcoder.loading").joinpath(STANDARD_SET).read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for proto in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.Add(proto)
    file_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("google.protobuf.FileDescriptorProto")
    )
    standard = {}
    for chunk in _file_chunks(data):
        file = _sourced(file_class, chunk, BUNDLED)
        standard[file.name] = file
    return _Bootstrap(file_class, pool.FindExtensionByName(HTTP_RULE_EXTENSION), standard)


def standard_file_names() -> frozenset[str]:
    """The files the package bundles, resolved for any set that lacks them."""
    return frozenset(_bootstrap().standard)


def http_extension() -> Any:
    """The google.api.http extension of the MethodOptions inside parsed files."""
    return _bootstrap().http


def merge(blobs: Sequence[Blob], problems: list[str]) -> Merged:
    """Every file of `blobs` (and the standard files they need) in a new private pool.

    Appends to `problems` each corrupt set, conflicting duplicate, missing import and file
    protobuf rejects; a file whose import failed is left out without a second report.
    """
    notes: list[str] = []
    empty: list[str] = []
    files = _collect(blobs, problems, notes, empty)
    builder = _PoolBuilder(files, problems)
    for name in files:
        builder.visit(name)
    user = tuple(files[n] for n in builder.added if files[n].source != BUNDLED)
    return Merged(builder.pool, tuple(builder.added), user, tuple(empty), tuple(notes))


def _collect(
    blobs: Sequence[Blob], problems: list[str], notes: list[str], empty: list[str]
) -> dict[str, SourcedFile]:
    """Every file by name: user files first, then standard files the sets did not carry.

    Appends to `empty` the URI of each readable set that declares no service.
    """
    files: dict[str, SourcedFile] = {}
    for blob in blobs:
        parsed = _parse_set(blob, problems)
        if parsed and not any(file.services for file in parsed):
            empty.append(blob.uri)
        for file in parsed:
            _merge_file(files, file, problems, notes)
    for name, file in _bootstrap().standard.items():
        files.setdefault(name, file)
    return files


def _parse_set(blob: Blob, problems: list[str]) -> list[SourcedFile]:
    file_class = _bootstrap().file_class
    try:
        files = [_sourced(file_class, chunk, blob.uri) for chunk in _file_chunks(blob.data)]
    except DecodeError as exc:
        problems.append(f"{blob.uri}: not a serialized FileDescriptorSet ({exc})")
        return []
    if not files:
        problems.append(f"{blob.uri}: holds no files (is it a serialized FileDescriptorSet?)")
    elif any(not file.name for file in files):
        problems.append(f"{blob.uri}: not a FileDescriptorSet (a file has no name)")
        return []
    return files


def _file_chunks(data: bytes) -> list[bytes]:
    """The serialized files of a FileDescriptorSet, without parsing them.

    Walks the set's top-level fields: each `file` (field 1) is one length-delimited chunk;
    anything else (extensions some tools add) is skipped. Raises DecodeError when the bytes
    are not protobuf wire format.
    """
    chunks: list[bytes] = []
    position, end = 0, len(data)
    while position < end:
        tag, position = varint(data, position)
        wire_type = tag & 7
        if tag >> 3 == 0:
            raise DecodeError(f"field number 0 at byte {position}")
        if wire_type == 0:
            _, position = varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        elif wire_type == 2:
            size, position = varint(data, position)
            if tag == _FILE_FIELD_TAG and position + size <= end:
                chunks.append(data[position : position + size])
            position += size
        else:
            raise DecodeError(f"unsupported wire type {wire_type} at byte {position}")
        if position > end:
            raise DecodeError("truncated message")
    return chunks


def varint(data: bytes, position: int) -> tuple[int, int]:
    """The varint at `position` and the position after it; raises DecodeError."""
    value = shift = 0
    for index in range(position, min(position + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise DecodeError(f"malformed varint at byte {position}")


def _sourced(file_class: type[Message], chunk: bytes, source: str) -> SourcedFile:
    proto: Any = file_class.FromString(chunk)
    return SourcedFile(
        name=proto.name,
        data=chunk,
        source=source,
        package=proto.package,
        dependencies=tuple(proto.dependency),
        services=tuple(_standalone(service) for service in proto.service),
    )


def _standalone(service: ServiceProto) -> ServiceProto:
    """A copy that does not keep the whole parsed file alive."""
    copy = type(service)()
    copy.CopyFrom(service)
    return copy


def _merge_file(
    files: dict[str, SourcedFile], new: SourcedFile, problems: list[str], notes: list[str]
) -> None:
    name = new.name
    old = files.get(name)
    if old is None:
        files[name] = new
    elif old.data != new.data and _without_source_info(old) != _without_source_info(new):
        where = f"{name}: defined differently in {old.source} and {new.source}"
        if name in _bootstrap().standard:
            # Every protoc release changes descriptor.proto a little; sets built by different
            # teams must still load together, and any copy resolves the same type names.
            notes.append(f"{where}; using the copy from {old.source}")
        else:
            problems.append(where)


def _without_source_info(file: SourcedFile) -> bytes:
    """The file's bytes without comments: sets built with and without them still agree."""
    proto: Any = _bootstrap().file_class.FromString(file.data)
    proto.ClearField("source_code_info")
    return bytes(proto.SerializeToString(deterministic=True))


class _PoolBuilder:
    """Adds files depth-first, each after its imports, reporting what cannot be added."""

    def __init__(self, files: Mapping[str, SourcedFile], problems: list[str]) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        self.added: list[str] = []
        self._files = files
        self._problems = problems
        self._done: dict[str, bool] = {}  # False while visiting, True once added or failed

    def visit(self, name: str) -> bool:
        """Whether `name` is in the pool after adding it and its imports (if not yet done)."""
        if name not in self._done:
            self._done[name] = False
            file = self._files[name]
            # A list, not a generator: every missing import is reported, not just the first.
            imports_ok = all([self._import_ok(file, dep) for dep in file.dependencies])  # noqa: C419
            if imports_ok and self._add(file):
                self.added.append(name)
            self._done[name] = True
        return self._done[name] and name in self.added

    def _import_ok(self, file: SourcedFile, dep: str) -> bool:
        where = f"{file.name} (from {file.source})"
        if dep not in self._files:
            self._problems.append(f"{where}: import {dep!r} is not in any set")
            return False
        if self._done.get(dep) is False:
            self._problems.append(f"{where}: import cycle through {dep!r}")
            return False
        return self.visit(dep)

    def _add(self, file: SourcedFile) -> bool:
        try:
            self.pool.AddSerializedFile(file.data)
        except (TypeError, ValueError) as exc:
            self._problems.append(f"{file.name} (from {file.source}): rejected by protobuf ({exc})")
            return False
        return True
