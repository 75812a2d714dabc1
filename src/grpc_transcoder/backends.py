"""Backends: which gRPC target serves each service, from `TRANSCODER_BACKENDS`.

Input: (service pattern, target) pairs. Output: a `BackendMap` resolving a fully-qualified
service name to a `Target`: the exact name, then the longest package wildcard, then `*`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grpc_transcoder.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Target:
    """A gRPC endpoint: `address` is `host:port`; `tls` selects a secure channel."""

    address: str
    tls: bool

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


class BackendMap:
    """Service name -> Target, resolved once per service and cached."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._exact: dict[str, Target] = {}
        self._packages: list[tuple[str, Target]] = []
        self._default: Target | None = None
        for pattern, target_text in pairs:
            self._add(pattern, parse_target(target_text))
        self._packages.sort(key=lambda item: len(item[0]), reverse=True)
        self._cache: dict[str, Target | None] = {}

    def _add(self, pattern: str, target: Target) -> None:
        if pattern == "*":
            self._default = target
        elif pattern.endswith(".*"):
            self._packages.append((pattern[:-1], target))
        elif "*" in pattern or not pattern:
            raise ConfigurationError(
                f"backend pattern {pattern!r}: use a service name, `package.*` or `*`"
            )
        else:
            self._exact[pattern] = target

    def resolve(self, service: str) -> Target | None:
        if service not in self._cache:
            self._cache[service] = self._lookup(service)
        return self._cache[service]

    def _lookup(self, service: str) -> Target | None:
        if service in self._exact:
            return self._exact[service]
        for prefix, target in self._packages:
            if service.startswith(prefix):
                return target
        return self._default

    def unrouted(self, services: Sequence[str]) -> list[str]:
        """The services no pattern matches."""
        return [s for s in services if self.resolve(s) is None]
