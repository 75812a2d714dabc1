"""Descriptors: the registry of every method and its HTTP rules, over one private pool.

Input: `Blob`s (merged by `loading.merge`). Output: a `Registry` (the pool,
every method with its google.api.http rules). Problems in any set are raised together.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading import merge as descriptor_merge
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.merge import ServiceProto

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
IDEMPOTENT_LEVELS = (
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
    descriptor_pb2.MethodOptions.IDEMPOTENT,
)


class RuleOrigin(enum.Enum):
    """Which part of the configuration produced an HTTP rule."""

    ANNOTATION = "annotation"
    ADDITIONAL_BINDING = "additional_binding"
    SERVICE_CONFIG = "service_config"  # a rule of TRANSCODER_SERVICE_CONFIG (or its bindings)
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
    no_side_effects: bool = False  # idempotency_level NO_SIDE_EFFECTS: Connect GET allowed

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
    version: str  # a short hash of the input bytes (sets and service configs), for logs
    notes: tuple[str, ...] = ()  # harmless oddities worth a log line (see `loading.merge`)
    rule_problems: tuple[str, ...] = ()  # service-config rules left out, and why
    set_files: int = 0  # of `files`, those the sets brought (the others are bundled)

    def message_class(self, descriptor: Descriptor) -> type[Message]:
        """The message class of a type; built on first use and cached by protobuf."""
        return message_factory.GetMessageClass(descriptor)

    def new_message(self, full_name: str) -> Message:
        return self.message_class(self.pool.FindMessageTypeByName(full_name))()


def build(
    blobs: Sequence[Blob],
    *,
    read_problems: Sequence[str] = (),
    service_configs: Sequence[Blob] = (),
) -> Registry:
    """Merge `blobs` with the bundled standard files and index every method.

    The HTTP rules of `service_configs` (TRANSCODER_SERVICE_CONFIG documents) replace the
    annotations of the methods they name. Raises DescriptorError listing every problem:
    `read_problems` (locations that could not be read), corrupt sets, conflicting duplicates,
    missing imports, files protobuf rejects, sets that define no service, and service configs
    that cannot be read as one; a single rule that is wrong is a `rule_problems` entry instead.
    """
    problems: list[str] = list(read_problems)
    merged = descriptor_merge.merge(blobs, problems)
    services, notes = _user_services(merged, blobs, problems)
    rules: Mapping[str, tuple[HttpRule, ...]] = {}
    rule_problems: list[str] = []
    if service_configs:
        from grpc_transcoder.loading import service_config  # noqa: PLC0415 - only when configured

        rules, rule_problems = service_config.rules(service_configs, problems)
    if problems:
        raise DescriptorError(problems)
    methods = _index_methods(merged.pool, services)
    for path in rules:
        if path in methods:
            methods[path] = replace(methods[path], rules=rules[path])
        else:
            rule_problems.append(f"{_selector(path)}: no such method in the descriptor sets")
    return Registry(
        pool=merged.pool,
        methods=methods,
        services=tuple(name for name, _ in services),
        files=merged.files,
        version=version_of((*blobs, *service_configs)),
        notes=(*merged.notes, *notes),
        rule_problems=tuple(rule_problems),
        set_files=len(merged.user_files),
    )


def _selector(grpc_path: str) -> str:
    """`package.Service.Method` (a service config's selector) for `/package.Service/Method`."""
    return grpc_path[1:].replace("/", ".")


def version_of(blobs: Sequence[Blob]) -> str:
    """A short hash of the sets' bytes, in order: equal versions mean equal input."""
    digest = hashlib.sha256(b"".join(hashlib.sha256(blob.data).digest() for blob in blobs))
    return digest.hexdigest()[:12]


def _user_services(
    merged: descriptor_merge.Merged, blobs: Sequence[Blob], problems: list[str]
) -> tuple[list[tuple[str, ServiceProto]], list[str]]:
    """(full name, proto) of each service in the loaded user files, and notes on sets with none.

    Appends a problem when no set defines a service (there would be nothing to route), unless
    problems were already found (their files may hold the services).
    """
    services = [
        (f"{file.package}.{service.name}".lstrip("."), service)
        for file in merged.user_files
        for service in file.services
    ]
    if not services and blobs and not problems:
        problems.append(
            f"{', '.join(blob.uri for blob in blobs)}: no services defined "
            "(build the set from the .proto files that declare the services)"
        )
    empty = merged.without_services if services else ()
    return services, [f"{uri}: defines no services (only types)" for uri in empty]


def _index_methods(
    pool: descriptor_pool.DescriptorPool, services: Sequence[tuple[str, ServiceProto]]
) -> dict[str, MethodInfo]:
    http = descriptor_merge.http_extension()
    methods: dict[str, MethodInfo] = {}
    for service_name, proto in services:
        service: ServiceDescriptor = pool.FindServiceByName(service_name)
        for method, method_proto in zip(service.methods, proto.method, strict=True):
            info = _method_info(service_name, method, method_proto.options, http)
            methods[info.grpc_path] = info
    return methods


def _method_info(service: str, method: MethodDescriptor, options: Any, http: Any) -> MethodInfo:
    return MethodInfo(
        service=service,
        name=method.name,
        input=method.input_type,
        output=method.output_type,
        client_streaming=method.client_streaming,
        server_streaming=method.server_streaming,
        idempotent=options.idempotency_level in IDEMPOTENT_LEVELS,
        rules=_rules(options, http),
        no_side_effects=options.idempotency_level == descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
    )


def _rules(options: Any, http: Any) -> tuple[HttpRule, ...]:
    """The google.api.http rule of a method and its additional bindings, flattened."""
    if not options.HasExtension(http):
        return ()
    rule: Any = options.Extensions[http]
    first = flatten(rule, RuleOrigin.ANNOTATION)
    extra = [flatten(b, RuleOrigin.ADDITIONAL_BINDING) for b in rule.additional_bindings]
    return tuple(r for r in (first, *extra) if r is not None)


def flatten(rule: Any, origin: RuleOrigin) -> HttpRule | None:
    """One HttpRule message as an HttpRule value; None when it names no pattern."""
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        return None
    if pattern == "custom":
        method, template = rule.custom.kind.upper(), rule.custom.path
    else:
        method, template = pattern.upper(), getattr(rule, pattern)
    return HttpRule(method, template, rule.body, rule.response_body, origin)
