"""Server reflection: descriptor sets read from a live gRPC server.

Input: a server address, or a `grpc://host:port` / `grpcs://host:port` location of
TRANSCODER_DESCRIPTORS. Output: a `Fetched` set holding every file the server's services need,
dependencies first, or a `Blob` of it for the loader. Speaks grpc.reflection.v1 and falls back
to v1alpha; the two protocols have identical messages on the wire, so grpcio-reflection's
v1alpha classes serve for both. Imported only when a reflection location is configured (and by
the `descriptors fetch` command); the channel takes the backends' TLS settings.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qs, urlsplit

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from grpc_transcoder.calling.backends import Target, parse_target
from grpc_transcoder.calling.channels import ChannelOptions
from grpc_transcoder.errors import ConfigurationError, DescriptorError, code_name
from grpc_transcoder.loading import merge as descriptor_merge
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.settings import Settings

VERSIONS = ("v1", "v1alpha")
DEFAULT_TIMEOUT = 10.0
# Services of gRPC itself (reflection, health, channelz): not an API to put on the web, so
# left out unless asked for by name.
INFRASTRUCTURE_PREFIX = "grpc."

Request: TypeAlias = reflection_pb2.ServerReflectionRequest
Response: TypeAlias = reflection_pb2.ServerReflectionResponse


class ReflectionError(Exception):
    """The server could not be asked or did not answer; the message names the server."""


@dataclass(frozen=True, slots=True)
class Fetched:
    descriptor_set: descriptor_pb2.FileDescriptorSet
    services: tuple[str, ...]  # the services whose files were fetched
    skipped: tuple[str, ...]  # services the server offers that were left out
    version: str  # the reflection protocol that answered: v1 or v1alpha


def service_name(version: str) -> str:
    return f"grpc.reflection.{version}.ServerReflection"


SCHEMES = ("grpc://", "grpcs://")


def is_location(location: str) -> bool:
    """Whether a TRANSCODER_DESCRIPTORS location names a server to ask by reflection."""
    return location.startswith(SCHEMES)


def read(location: str, settings: Settings) -> Blob:
    """The set a `grpc[s]://host:port[?service=NAME...]` location offers, as one Blob.

    Serialized deterministically, so an unchanged server gives the same bytes (the live swap
    compares them). Raises DescriptorError naming the location.
    """
    target, services = parse_location(location)
    options = ChannelOptions.from_settings(settings)
    try:
        fetched = fetch(
            target.address,
            services=services,
            timeout=settings.reflection_timeout,
            tls=target.tls,
            credentials=options.credentials() if target.tls else None,
            options=options.grpc_options(target),
        )
    except ReflectionError as exc:
        raise DescriptorError([f"{location}: server reflection: {exc}"]) from None
    return Blob(location, fetched.descriptor_set.SerializeToString(deterministic=True))


def parse_location(location: str) -> tuple[Target, tuple[str, ...]]:
    """The target and the services named by `?service=` (none: every non-`grpc.` service)."""
    parts = urlsplit(location)
    try:
        target = parse_target(f"{parts.scheme}://{parts.netloc}")
    except ConfigurationError as exc:
        raise DescriptorError([f"{location}: {exc}"]) from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"service"})
    if unknown or parts.path not in ("", "/"):
        raise DescriptorError(
            [f"{location}: expected grpc[s]://host:port[?service=package.Service...]"]
        )
    return target, tuple(query.get("service", ()))


def fetch(
    target: str,
    *,
    services: Sequence[str] = (),
    versions: Sequence[str] = VERSIONS,
    timeout: float = DEFAULT_TIMEOUT,
    tls: bool = False,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> Fetched:
    """The set of `services` (default: every service outside the `grpc.` package).

    Tries each protocol of `versions` in turn while the server answers UNIMPLEMENTED. The
    whole exchange has a deadline of `timeout` seconds. `credentials` default to gRPC's
    roots when `tls`. Raises ReflectionError.
    """
    if tls:
        secure = credentials or grpc.ssl_channel_credentials()
        channel = grpc.secure_channel(target, secure, list(options))
    else:
        channel = grpc.insecure_channel(target, list(options))
    deadline = time.monotonic() + timeout
    with channel:
        for version in versions:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReflectionError(f"{target}: no answer within {timeout:g} s")
            session = _Session(channel, target, version, remaining)
            try:
                return _fetch(session, services)
            except _Unimplemented:
                continue
            finally:
                session.close()
    offered = " or ".join(service_name(v) for v in versions)
    raise ReflectionError(f"{target}: the server does not offer {offered}")


def _fetch(session: _Session, wanted: Sequence[str]) -> Fetched:
    offered = session.list_services()
    chosen, skipped = _choose(session.target, offered, wanted)
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for service in chosen:
        _add(files, session.file_containing_symbol(service))
    _add_missing_imports(session, files)
    ordered = descriptor_pb2.FileDescriptorSet(file=_dependencies_first(files))
    return Fetched(ordered, chosen, skipped, session.version)


def _choose(
    target: str, offered: Sequence[str], wanted: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    unknown = [name for name in wanted if name not in offered]
    if unknown:
        raise ReflectionError(
            f"{target}: the server does not offer {', '.join(unknown)} "
            f"(it offers: {', '.join(offered) or 'nothing'})"
        )
    chosen = tuple(wanted) or tuple(s for s in offered if not s.startswith(INFRASTRUCTURE_PREFIX))
    if not chosen:
        raise ReflectionError(f"{target}: the server offers only {', '.join(offered)}")
    return chosen, tuple(s for s in offered if s not in chosen)


def _add(files: dict[str, descriptor_pb2.FileDescriptorProto], data: Iterable[bytes]) -> None:
    for serialized in data:
        proto = descriptor_pb2.FileDescriptorProto.FromString(serialized)
        files.setdefault(proto.name, proto)


def _add_missing_imports(
    session: _Session, files: dict[str, descriptor_pb2.FileDescriptorProto]
) -> None:
    """Ask for imports the server did not send along (servers may send one file at a time).

    An import the server cannot find is left out when the transcoder bundles it (well-known
    types, google/api); otherwise it is an error naming the file and the import.
    """
    bundled = descriptor_merge.standard_file_names()
    unavailable: set[str] = set()
    while missing := _missing(files, unavailable):
        importer, name = missing[0]
        found = session.file_by_filename(name)
        if found is not None:
            _add(files, found)
        elif name in bundled:
            unavailable.add(name)
        else:
            raise ReflectionError(
                f"{session.target}: the server cannot provide {name!r}, imported by {importer!r}"
            )


def _missing(
    files: Mapping[str, descriptor_pb2.FileDescriptorProto], unavailable: set[str]
) -> list[tuple[str, str]]:
    """(importer, import) for each import neither fetched nor known to be unavailable."""
    return [
        (file.name, dep)
        for file in files.values()
        for dep in file.dependency
        if dep not in files and dep not in unavailable
    ]


def _dependencies_first(
    files: Mapping[str, descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    ordered: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting or name not in files:
            return
        visiting.add(name)
        for dep in files[name].dependency:
            visit(dep)
        ordered[name] = files[name]

    for name in sorted(files):
        visit(name)
    return list(ordered.values())


class _Unimplemented(Exception):
    """The server does not offer this version of the protocol."""


class _Session:
    """One reflection stream: each request is sent and its answer read before the next."""

    def __init__(self, channel: grpc.Channel, target: str, version: str, timeout: float) -> None:
        self.target = target
        self.version = version
        self._requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        call = channel.stream_stream(
            f"/{service_name(version)}/ServerReflectionInfo",
            request_serializer=Request.SerializeToString,
            response_deserializer=Response.FromString,
        )
        self._responses: Any = call(iter(self._requests.get, None), timeout=timeout)

    def list_services(self) -> list[str]:
        response = self._ask(Request(list_services=""))
        return [service.name for service in response.list_services_response.service]

    def file_containing_symbol(self, symbol: str) -> list[bytes]:
        response = self._ask(Request(file_containing_symbol=symbol))
        if response.HasField("error_response"):
            raise ReflectionError(f"{self.target}: no descriptor for {symbol}: {_error(response)}")
        return list(response.file_descriptor_response.file_descriptor_proto)

    def file_by_filename(self, name: str) -> list[bytes] | None:
        response = self._ask(Request(file_by_filename=name))
        if response.HasField("error_response"):
            return None
        return list(response.file_descriptor_response.file_descriptor_proto)

    def _ask(self, request: Request) -> Response:
        self._requests.put(request)
        try:
            response: Response = next(self._responses)
        except grpc.RpcError as exc:
            raise self._failure(exc) from None
        return response

    def _failure(self, exc: grpc.RpcError) -> Exception:
        code: grpc.StatusCode = exc.code()
        if code is grpc.StatusCode.UNIMPLEMENTED:
            return _Unimplemented()
        details = exc.details()
        return ReflectionError(
            f"{self.target}: reflection {self.version} failed: {code.name}: {details}"
        )

    def close(self) -> None:
        self._requests.put(None)
        self._responses.cancel()


def _error(response: Response) -> str:
    error = response.error_response
    return f"{code_name(error.error_code)}: {error.error_message}"
