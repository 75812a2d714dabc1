"""Channels: one gRPC channel per backend target, opened on first use and kept fresh.

Input: a `backends.Target` and the `ChannelOptions` of the settings. Output: a `Connection`
(the channel and its cached multicallables). Channels are never opened during init:
connections made before a SnapStart snapshot are dead after restore, so `after_restore`
(registered with `snapshot_restore_py` when the runtime provides it) drops them all.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from grpc_transcoder.calling.backends import Target
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.settings import Settings

logger = logging.getLogger(__name__)

# gRPC's own default is 4 MiB; a binary answer may be somewhat smaller than its JSON, so the
# channel accepts twice the response limit and the JSON size is checked after encoding.
MIN_RECEIVE_BYTES = 4 * 1024 * 1024
MAX_CACHED_METHODS = 1024
MIN_CONNECT_TIMEOUT_MS = 100


_DEFAULTS = Settings()  # every default is its TRANSCODER_* setting's


@dataclass(frozen=True, slots=True)
class ChannelOptions:
    """How channels are opened. Compared by value: equal options reuse the open channels.

    `idle_seconds`: a channel unused for longer is replaced before the next call (0: never),
    because load balancers and NAT forget idle connections (AWS: after 350 s) and a frozen
    Lambda cannot notice. Keepalive pings run only while calls are active, so servers with
    the default ping policy never answer GOAWAY `too_many_pings`. `connect_timeout_ms`: how
    long a new connection may take to complete its HTTP/2 handshake (the server's SETTINGS
    frame) before its calls fail UNAVAILABLE; gRPC's own default is 20 s.
    """

    idle_seconds: float = _DEFAULTS.channel_idle_seconds
    keepalive_time_ms: int = _DEFAULTS.keepalive_time_ms
    keepalive_timeout_ms: int = _DEFAULTS.keepalive_timeout_ms
    connect_timeout_ms: int = _DEFAULTS.connect_timeout_ms
    max_response_bytes: int = MIN_RECEIVE_BYTES
    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    server_name: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelOptions:
        """Read the TLS files now (cold start); raises ConfigurationError naming the variable."""
        if settings.connect_timeout_ms < MIN_CONNECT_TIMEOUT_MS:
            raise ConfigurationError(
                f"TRANSCODER_CONNECT_TIMEOUT_MS: {settings.connect_timeout_ms} is too short for"
                f" any connection; use at least {MIN_CONNECT_TIMEOUT_MS}"
            )
        if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
            raise ConfigurationError(
                "TRANSCODER_TLS_CERT_FILE and TRANSCODER_TLS_KEY_FILE must be set together"
                " (a client certificate needs its private key)"
            )
        return cls(
            idle_seconds=settings.channel_idle_seconds,
            keepalive_time_ms=settings.keepalive_time_ms,
            keepalive_timeout_ms=settings.keepalive_timeout_ms,
            connect_timeout_ms=settings.connect_timeout_ms,
            max_response_bytes=settings.max_response_bytes,
            root_certificates=_read("TRANSCODER_TLS_CA_FILE", settings.tls_ca_file),
            private_key=_read("TRANSCODER_TLS_KEY_FILE", settings.tls_key_file),
            certificate_chain=_read("TRANSCODER_TLS_CERT_FILE", settings.tls_cert_file),
            server_name=settings.tls_server_name,
        )

    @property
    def max_receive_bytes(self) -> int:
        """The largest message the channel accepts (gRPC answers RESOURCE_EXHAUSTED above)."""
        return max(MIN_RECEIVE_BYTES, 2 * self.max_response_bytes)

    def grpc_options(self, target: Target) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [
            # A private subchannel pool: a replacement channel must not inherit the stale
            # connection of the channel it replaces (the global pool would hand it back).
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.keepalive_time_ms", self.keepalive_time_ms),
            ("grpc.keepalive_timeout_ms", self.keepalive_timeout_ms),
            ("grpc.http2.ping_timeout_ms", self.keepalive_timeout_ms),
            ("grpc.keepalive_permit_without_calls", 0),
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            # gRPC takes the connect timeout of a connection attempt (handshake included)
            # from the minimum reconnect backoff.
            ("grpc.min_reconnect_backoff_ms", self.connect_timeout_ms),
        ]
        if self.server_name:
            options.append(("grpc.default_authority", self.server_name))
            if target.tls:
                options.append(("grpc.ssl_target_name_override", self.server_name))
        return options

    def credentials(self) -> grpc.ChannelCredentials:
        """TLS credentials: the CA bundle if set (else gRPC's default roots), the client pair."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates,
            private_key=self.private_key,
            certificate_chain=self.certificate_chain,
        )


def _read(variable: str, path: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{variable}: cannot read {path!r} ({exc.strerror})") from None


@dataclass(slots=True, eq=False)
class Connection:
    """An open channel, the options it was opened with, and its multicallables by method.

    `proven` once a call through it has succeeded: a connection that never worked and timed
    out connecting is not worth a retry on a fresh one.
    """

    target: Target
    channel: grpc.Channel
    options: ChannelOptions
    last_used: float
    proven: bool = False
    _callables: dict[tuple[str, bool, bool], Any] = field(default_factory=dict)

    @property
    def cached_methods(self) -> int:
        return len(self._callables)

    def multicallable(self, path: str, *, client_streaming: bool, server_streaming: bool) -> Any:
        """The generic (bytes in, bytes out) multicallable of the method at `path`.

        Kept for up to MAX_CACHED_METHODS methods (pass-through lets clients choose paths).
        """
        key = (path, client_streaming, server_streaming)
        found = self._callables.get(key)
        if found is None:
            found = _FACTORIES[(client_streaming, server_streaming)](self.channel)(path)
            if len(self._callables) < MAX_CACHED_METHODS:
                self._callables[key] = found
        return found


_FACTORIES: dict[tuple[bool, bool], Callable[[grpc.Channel], Callable[[str], Any]]] = {
    (False, False): lambda channel: channel.unary_unary,
    (False, True): lambda channel: channel.unary_stream,
    (True, False): lambda channel: channel.stream_unary,
    (True, True): lambda channel: channel.stream_stream,
}


class ChannelCache:
    """Channels by target, opened lazily, recycled when idle, dropped after failures."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._connections: dict[Target, Connection] = {}
        _CACHES.add(self)

    def now(self) -> float:
        """The cache's clock: a connection's `last_used` is set from it."""
        return self._clock()

    @contextmanager
    def lease(self, target: Target, options: ChannelOptions) -> Iterator[Connection]:
        """A connection to `target` for one call; marks it used when the call ends."""
        connection = self.get(target, options)
        try:
            yield connection
        finally:
            connection.last_used = self._clock()

    def get(self, target: Target, options: ChannelOptions) -> Connection:
        with self._lock:
            connection = self._connections.get(target)
            reason = self._stale(connection, options)
            if connection is None or reason:
                if connection is not None:
                    logger.info("reconnecting to %s: %s", target, reason)
                    connection.channel.close()
                connection = self._open(target, options)
                self._connections[target] = connection
            connection.last_used = self._clock()
            return connection

    def _stale(self, connection: Connection | None, options: ChannelOptions) -> str:
        """Why `connection` must be replaced before use ("" when it is fine)."""
        if connection is None:
            return ""
        if connection.options != options:
            return "the channel settings changed"
        idle = self._clock() - connection.last_used
        if options.idle_seconds and idle > options.idle_seconds:
            return (
                f"idle for {idle:.0f} s (TRANSCODER_CHANNEL_IDLE_SECONDS={options.idle_seconds:g})"
            )
        return ""

    def _open(self, target: Target, options: ChannelOptions) -> Connection:
        logger.info("opening channel to %s", target)
        grpc_options = options.grpc_options(target)
        if target.tls:
            channel = grpc.secure_channel(target.address, options.credentials(), grpc_options)
        else:
            channel = grpc.insecure_channel(target.address, grpc_options)
        return Connection(target, channel, options, self._clock())

    def drop(self, connection: Connection, reason: str) -> None:
        """Close `connection` so the next call opens a fresh one (no-op if already replaced)."""
        with self._lock:
            if self._connections.get(connection.target) is connection:
                del self._connections[connection.target]
        logger.info("dropped channel to %s after %s", connection.target, reason)
        connection.channel.close()

    def close_all(self) -> None:
        """Close every channel (after a SnapStart restore, or in tests)."""
        with self._lock:
            connections, self._connections = self._connections, {}
        for connection in connections.values():
            connection.channel.close()

    @property
    def open_targets(self) -> list[Target]:
        """The targets with an open channel."""
        return list(self._connections)


_CACHES: weakref.WeakSet[ChannelCache] = weakref.WeakSet()


def after_restore() -> None:
    """Close every channel of every cache: connections from before a snapshot are dead."""
    caches = list(_CACHES)
    for cache in caches:
        cache.close_all()
    logger.info("SnapStart restore: closed the channels of %d channel caches", len(caches))


def register_snapstart_hook(register: Callable[[Callable[[], None]], Any] | None = None) -> bool:
    """Register `after_restore` with SnapStart; True when a registry was found.

    Lambda's managed Python runtimes ship `snapshot_restore_py`; elsewhere it is absent and
    nothing is registered (no hard dependency).
    """
    if register is None:
        try:
            module = importlib.import_module("snapshot_restore_py")
        except ImportError:
            return False
        register = module.register_after_restore
    register(after_restore)
    return True


register_snapstart_hook()
