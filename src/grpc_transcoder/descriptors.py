"""Descriptors: merge FileDescriptorSets into one private pool and list the methods and HTTP rules.

Input: `descriptor_source.Blob`s. Output: a `Registry` (the pool, every method with its
google.api.http rules). Problems in any set are collected and raised together.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message

from grpc_transcoder.descriptor_source import Blob
from grpc_transcoder.errors import DescriptorError

HTTP_RULE_EXTENSION = "google.api.http"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
STANDARD_SET = "standard.binpb"


class RuleOrigin(enum.Enum):
    """Which part of the configuration produced an HTTP rule."""

    ANNOTATION = "annotation"
    ADDITIONAL_BINDING = "additional_binding"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class HttpRule:
    """One google.api.HttpRule binding, flattened (additional bindings are rules of their own)."""

    method: str  # GET, PUT, POST, DELETE, PATCH, a custom kind, or "*" for any method
    template: str
    body: str = ""
    response_body: str = ""
    origin: RuleOrigin = RuleOrigin.ANNOTATION


@dataclass(frozen=True, slots=True)
class MethodInfo:
    """A gRPC method and everything the transcoder needs to call it."""

    service: str
    name: str
    input: Descriptor
    output: Descriptor
    client_streaming: bool
    server_streaming: bool
    idempotent: bool
    rules: tuple[HttpRule, ...]

    @property
    def full_name(self) -> str:
        return f"{self.service}/{self.name}"

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"


@dataclass(frozen=True, slots=True)
class Registry:
    """The merged pool and its methods; immutable once built."""

    pool: descriptor_pool.DescriptorPool
    methods: Mapping[str, MethodInfo]  # by gRPC path, "/package.Service/Method"
    services: tuple[str, ...]
    files: tuple[str, ...]
    version: str  # a short hash of the input bytes, for logs

    def message_class(self, descriptor: Descriptor) -> type[Message]:
        """The message class of a type; built on first use and cached by protobuf."""
        return message_factory.GetMessageClass(descriptor)

    def new_message(self, full_name: str) -> Message:
        return self.message_class(self.pool.FindMessageTypeByName(full_name))()


def build(blobs: Sequence[Blob]) -> Registry:
    """Merge `blobs` with the bundled standard files and index every method.

    Raises DescriptorError listing every problem: corrupt sets, conflicting duplicates,
    missing imports, files protobuf rejects, and sets that define no service.
    """
    problems: list[str] = []
    files = _collect(blobs, problems)
    pool = descriptor_pool.DescriptorPool()
    added = _add_in_order(pool, files, problems)
    services = _user_services(files, added, blobs, problems)
    if problems:
        raise DescriptorError(problems)
    methods = _index_methods(pool, services)
    digest = hashlib.sha256(b"".join(hashlib.sha256(b.data).digest() for b in blobs))
    return Registry(pool, methods, tuple(services), tuple(added), digest.hexdigest()[:12])


@dataclass(slots=True)
class _File:
    proto: descriptor_pb2.FileDescriptorProto
    source: str
    serialized: bytes


def _collect(blobs: Sequence[Blob], problems: list[str]) -> dict[str, _File]:
    """Every file by name: user files first, then standard files the sets did not carry."""
    files: dict[str, _File] = {}
    for blob in blobs:
        for proto in _parse_set(blob, problems):
            _merge(
                files, _File(proto, blob.uri, proto.SerializeToString(deterministic=True)), problems
            )
    for proto in _standard_files():
        files.setdefault(proto.name, _File(proto, "(bundled)", b""))
    return files


def _parse_set(blob: Blob, problems: list[str]) -> list[descriptor_pb2.FileDescriptorProto]:
    try:
        fds = descriptor_pb2.FileDescriptorSet.FromString(blob.data)
    except DecodeError as exc:
        problems.append(f"{blob.uri}: not a serialized FileDescriptorSet ({exc})")
        return []
    if not fds.file:
        problems.append(f"{blob.uri}: the descriptor set holds no files")
    elif any(not f.name for f in fds.file):
        problems.append(f"{blob.uri}: not a FileDescriptorSet (a file has no name)")
        return []
    return list(fds.file)


def _merge(files: dict[str, _File], new: _File, problems: list[str]) -> None:
    old = files.get(new.proto.name)
    if old is None:
        files[new.proto.name] = new
    elif _without_source_info(old.proto) != _without_source_info(new.proto):
        problems.append(f"{new.proto.name}: defined differently in {old.source} and {new.source}")


def _without_source_info(proto: descriptor_pb2.FileDescriptorProto) -> bytes:
    if not proto.HasField("source_code_info"):
        return proto.SerializeToString(deterministic=True)
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(proto)
    copy.ClearField("source_code_info")
    return copy.SerializeToString(deterministic=True)


@cache
def _standard_files() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    """Well-known types, google/api and google/rpc files bundled with the package."""
    data = resources.files("grpc_transcoder").joinpath(STANDARD_SET).read_bytes()
    return tuple(descriptor_pb2.FileDescriptorSet.FromString(data).file)


def _add_in_order(
    pool: descriptor_pool.DescriptorPool, files: Mapping[str, _File], problems: list[str]
) -> list[str]:
    """Add files dependencies first; report missing imports and files protobuf rejects."""
    added: list[str] = []
    state: dict[str, bool] = {}  # False while visiting, True once added (or failed)

    def visit(name: str) -> bool:
        if name in state:
            return state[name] and name in added
        state[name] = False
        file = files[name]
        ok = True
        for dep in file.proto.dependency:
            if dep not in files:
                problems.append(f"{name} (from {file.source}): import {dep!r} is not in any set")
                ok = False
            elif state.get(dep) is False:
                problems.append(f"{name}: import cycle through {dep!r}")
                ok = False
            elif not visit(dep):
                ok = False
        if ok:
            ok = _add(pool, file, problems)
        if ok:
            added.append(name)
        state[name] = True
        return ok

    for name in files:
        visit(name)
    return added


def _add(pool: descriptor_pool.DescriptorPool, file: _File, problems: list[str]) -> bool:
    try:
        pool.Add(file.proto)
    except (TypeError, ValueError) as exc:
        problems.append(f"{file.proto.name} (from {file.source}): rejected by protobuf ({exc})")
        return False
    return True


def _user_services(
    files: Mapping[str, _File], added: Iterable[str], blobs: Sequence[Blob], problems: list[str]
) -> list[str]:
    """Fully-qualified names of the services in user-supplied files, in load order."""
    loaded = set(added)
    services: list[str] = []
    for file in files.values():
        if file.source == "(bundled)" or file.proto.name not in loaded:
            continue
        prefix = f"{file.proto.package}." if file.proto.package else ""
        services.extend(prefix + service.name for service in file.proto.service)
    if not services and not problems and blobs:
        uris = ", ".join(blob.uri for blob in blobs)
        problems.append(
            f"{uris}: no services defined (build the set from the .proto with the service)"
        )
    return services


def _index_methods(
    pool: descriptor_pool.DescriptorPool, services: Sequence[str]
) -> dict[str, MethodInfo]:
    reader = _RuleReader(pool)
    methods: dict[str, MethodInfo] = {}
    for service_name in services:
        service: ServiceDescriptor = pool.FindServiceByName(service_name)
        for method in service.methods:
            info = _method_info(service_name, method, reader)
            methods[info.grpc_path] = info
    return methods


def _method_info(service: str, method: MethodDescriptor, reader: _RuleReader) -> MethodInfo:
    options = method.GetOptions()
    level = options.idempotency_level
    return MethodInfo(
        service=service,
        name=method.name,
        input=method.input_type,
        output=method.output_type,
        client_streaming=method.client_streaming,
        server_streaming=method.server_streaming,
        idempotent=level in (options.NO_SIDE_EFFECTS, options.IDEMPOTENT),
        rules=reader.rules(options),
    )


class _RuleReader:
    """Reads google.api.http through the private pool.

    The options protobuf hands back are instances of the default pool's MethodOptions, where
    the extension is visible only if `google.api.annotations_pb2` happened to be imported
    first. Re-parsing the bytes with the pool's own MethodOptions class avoids that trap.
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._options_class = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("google.protobuf.MethodOptions")
        )
        self._extension: Any = pool.FindExtensionByName(HTTP_RULE_EXTENSION)

    def rules(self, options: Message) -> tuple[HttpRule, ...]:
        data = options.SerializeToString()
        if not data:
            return ()
        parsed = self._options_class.FromString(data)
        if not parsed.HasExtension(self._extension):
            return ()
        rule: Any = parsed.Extensions[self._extension]
        first = _flatten(rule, RuleOrigin.ANNOTATION)
        extra = [_flatten(b, RuleOrigin.ADDITIONAL_BINDING) for b in rule.additional_bindings]
        return tuple(r for r in (first, *extra) if r is not None)


def _flatten(rule: Any, origin: RuleOrigin) -> HttpRule | None:
    """One HttpRule message as an HttpRule value; None when it names no pattern."""
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        return None
    if pattern == "custom":
        method, template = rule.custom.kind.upper(), rule.custom.path
    else:
        method, template = pattern.upper(), getattr(rule, pattern)
    return HttpRule(method, template, rule.body, rule.response_body, origin)
