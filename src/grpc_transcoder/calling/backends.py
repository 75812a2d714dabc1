"""Backends: which gRPC target serves each service, from `TRANSCODER_BACKENDS`.

Input: (service pattern, target) pairs. Output: a `BackendMap` resolving a fully-qualified
service name to a `Target`: the exact name, then the longest package wildcard, then `*`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from grpc_transcoder.errors import ConfigurationError, NoBackendError

T = TypeVar("T")
MAX_CACHED_SERVICES = 1024


@dataclass(frozen=True, slots=True)
class Target:
    """A gRPC endpoint: `address` is `host:port`; `tls` selects a secure channel.

    `pattern` is the TRANSCODER_BACKENDS service pattern that names it: what answers and the
    health report say instead of the address (internal names stay inside). Targets compare by
    address and TLS only, so patterns with the same target share its channel.
    """

    address: str
    tls: bool
    pattern: str = field(default="", compare=False)

    def __str__(self) -> str:
        return ("grpcs://" if self.tls else "grpc://") + self.address


def parse_target(text: str) -> Target:
    """`host:port`, `grpc://host:port` or `grpcs://host:port`; raises ConfigurationError."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "grpc", text
    if scheme not in ("grpc", "grpcs"):
        raise ConfigurationError(
            f"backend {text!r}: unknown scheme {scheme!r} (use grpc:// or grpcs://)"
        )
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit() or "/" in rest:
        raise ConfigurationError(f"backend {text!r}: expected host:port")
    return Target(rest, scheme == "grpcs")


class ServicePatterns(Generic[T]):
    """Service pattern -> value: the exact service name, then the longest `package.*`, then `*`.

    Shared by every per-service setting (backends, maximum deadlines). Lookups are cached per
    service name, up to MAX_CACHED_SERVICES names (pass-through lets clients choose names);
    the table is never changed after construction.
    """

    def __init__(self, pairs: Iterable[tuple[str, T]], *, setting: str) -> None:
        self._exact: dict[str, T] = {}
        self._packages: list[tuple[str, T]] = []
        self._default: T | None = None
        for pattern, value in pairs:
            self._add(pattern, value, setting)
        self._packages.sort(key=lambda item: len(item[0]), reverse=True)
        self._cache: dict[str, T | None] = {}

    def _add(self, pattern: str, value: T, setting: str) -> None:
        if pattern == "*":
            self._default = value
        elif pattern.endswith(".*") and "*" not in pattern[:-2] and len(pattern) > 2:
            self._packages.append((pattern[:-1], value))
        elif "*" in pattern or not pattern:
            raise ConfigurationError(
                f"{setting}: pattern {pattern!r}: use a service name, `package.*` or `*`"
            )
        else:
            self._exact[pattern] = value

    def cached(self) -> int:
        """How many service names are cached (at most MAX_CACHED_SERVICES)."""
        return len(self._cache)

    def resolve(self, service: str) -> T | None:
        try:
            return self._cache[service]
        except KeyError:
            found = self._lookup(service)
            if len(self._cache) < MAX_CACHED_SERVICES:
                self._cache[service] = found
            return found

    def _lookup(self, service: str) -> T | None:
        if service in self._exact:
            return self._exact[service]
        for prefix, value in self._packages:
            if service.startswith(prefix):
                return value
        return self._default


class BackendMap:
    """Service name -> Target. Targets come only from configuration, never from a request."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._patterns = ServicePatterns(
            ((pattern, replace(parse_target(text), pattern=pattern)) for pattern, text in pairs),
            setting="TRANSCODER_BACKENDS",
        )

    @property
    def patterns(self) -> ServicePatterns[Target]:
        return self._patterns

    def resolve(self, service: str) -> Target | None:
        return self._patterns.resolve(service)

    def require(self, service: str) -> Target:
        """The target of `service`; raises NoBackendError (503) when none is configured."""
        target = self.resolve(service)
        if target is None:
            raise NoBackendError(
                f"no backend is configured for {service}: add it (or `{_package(service)}.*`"
                " or `*`) to TRANSCODER_BACKENDS"
            )
        return target

    def unrouted(self, services: Sequence[str]) -> list[str]:
        """The services no pattern matches."""
        return [s for s in services if self.resolve(s) is None]


def _package(service: str) -> str:
    return service.rpartition(".")[0] or service
