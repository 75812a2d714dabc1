"""Channels: lazy, one per target, recycled when idle or when settings change, dropped on demand."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grpc_transcoder_tools import example_backend

from grpc_transcoder import settings
from grpc_transcoder.calling import channels
from grpc_transcoder.calling.backends import Target, parse_target
from grpc_transcoder.calling.channels import ChannelCache, ChannelOptions
from grpc_transcoder.errors import ConfigurationError

PLAIN = Target("127.0.0.1:1", tls=False)
SECURE = Target("backend.internal:443", tls=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_channels_open_lazily_and_are_reused() -> None:
    cache = ChannelCache()
    assert cache.open_targets == []
    first = cache.get(PLAIN, ChannelOptions())
    assert cache.get(PLAIN, ChannelOptions()) is first
    other = cache.get(Target("127.0.0.1:2", tls=False), ChannelOptions())
    assert other is not first
    assert set(cache.open_targets) == {PLAIN, Target("127.0.0.1:2", tls=False)}
    cache.close_all()
    assert cache.open_targets == []


def test_multicallables_are_cached_per_method() -> None:
    connection = ChannelCache().get(PLAIN, ChannelOptions())
    unary = connection.multicallable("/a.S/M", client_streaming=False, server_streaming=False)
    assert connection.multicallable("/a.S/M", client_streaming=False, server_streaming=False) is (
        unary
    )
    stream = connection.multicallable("/a.S/M", client_streaming=True, server_streaming=True)
    assert stream is not unary


def test_an_idle_channel_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    cache = ChannelCache(clock=clock)
    options = ChannelOptions(idle_seconds=30.0)
    with cache.lease(PLAIN, options) as first:
        clock.now += 100  # a long call does not count as idle time
    clock.now += 29
    assert cache.get(PLAIN, options) is first
    clock.now += 31
    with caplog.at_level("INFO"):
        replaced = cache.get(PLAIN, options)
    assert replaced is not first
    assert "idle for 31 s (TRANSCODER_CHANNEL_IDLE_SECONDS=30)" in caplog.text


def test_idle_recycling_can_be_turned_off() -> None:
    clock = Clock()
    cache = ChannelCache(clock=clock)
    first = cache.get(PLAIN, ChannelOptions(idle_seconds=0))
    clock.now += 10_000
    assert cache.get(PLAIN, ChannelOptions(idle_seconds=0)) is first


def test_changed_options_reopen_the_channel() -> None:
    cache = ChannelCache()
    first = cache.get(PLAIN, ChannelOptions())
    assert cache.get(PLAIN, ChannelOptions()) is first  # equal options, same channel
    assert cache.get(PLAIN, ChannelOptions(keepalive_time_ms=20_000)) is not first


def test_drop_closes_only_the_current_connection() -> None:
    cache = ChannelCache()
    first = cache.get(PLAIN, ChannelOptions())
    cache.drop(first, "test")
    assert cache.open_targets == []
    second = cache.get(PLAIN, ChannelOptions())
    cache.drop(first, "stale report about an older connection")
    assert cache.get(PLAIN, ChannelOptions()) is second


def test_grpc_options() -> None:
    options = ChannelOptions(
        keepalive_time_ms=7000, keepalive_timeout_ms=2000, connect_timeout_ms=1500
    )
    assert dict(options.grpc_options(PLAIN)) == {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.keepalive_time_ms": 7000,
        "grpc.keepalive_timeout_ms": 2000,
        "grpc.http2.ping_timeout_ms": 2000,
        "grpc.keepalive_permit_without_calls": 0,
        "grpc.max_receive_message_length": 8 * 1024 * 1024,
        "grpc.min_reconnect_backoff_ms": 1500,
    }
    named = dict(ChannelOptions(server_name="api.internal").grpc_options(SECURE))
    assert named["grpc.default_authority"] == "api.internal"
    assert named["grpc.ssl_target_name_override"] == "api.internal"
    plain_named = dict(ChannelOptions(server_name="api.internal").grpc_options(PLAIN))
    assert "grpc.ssl_target_name_override" not in plain_named


def test_a_connect_timeout_too_short_for_any_connection_fails_at_cold_start() -> None:
    with pytest.raises(ConfigurationError, match="TRANSCODER_CONNECT_TIMEOUT_MS"):
        ChannelOptions.from_settings(settings.load({}, connect_timeout_ms=10))


def test_options_from_settings_read_the_tls_files(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_bytes(name.encode())
    loaded = settings.load(
        {},
        tls_ca_file=str(tmp_path / "ca.pem"),
        tls_cert_file=str(tmp_path / "cert.pem"),
        tls_key_file=str(tmp_path / "key.pem"),
        tls_server_name="api.internal",
        channel_idle_seconds=12.0,
        max_response_bytes=6_000_000,
    )
    options = ChannelOptions.from_settings(loaded)
    assert (options.root_certificates, options.certificate_chain, options.private_key) == (
        b"ca.pem",
        b"cert.pem",
        b"key.pem",
    )
    assert options.server_name == "api.internal"
    assert options.idle_seconds == 12.0
    assert options.max_response_bytes == 6_000_000
    assert options.max_receive_bytes == 12_000_000
    assert ChannelOptions.from_settings(settings.load({})) == ChannelOptions()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        pytest.param({"tls_ca_file": "/nonexistent/ca.pem"}, "TRANSCODER_TLS_CA_FILE", id="ca"),
        pytest.param({"tls_cert_file": "c.pem"}, "must be set together", id="cert-alone"),
        pytest.param({"tls_key_file": "k.pem"}, "must be set together", id="key-alone"),
    ],
)
def test_tls_problems_fail_at_cold_start(overrides: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        ChannelOptions.from_settings(settings.load({}, **overrides))


def test_after_restore_closes_every_cache(backend: example_backend.RunningBackend) -> None:
    cache = ChannelCache()
    connection = cache.get(parse_target(backend.target), ChannelOptions())
    unary = connection.multicallable(
        "/library.v1.DebugService/Ping", client_streaming=False, server_streaming=False
    )
    assert unary(b"", timeout=5) == b"\n\x04pong"
    channels.after_restore()
    assert cache.open_targets == []
    with pytest.raises(ValueError, match="closed channel"):
        unary(b"", timeout=5)


def test_snapstart_hook_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Callable[[], None]] = []
    assert channels.register_snapstart_hook(registered.append) is True
    assert registered == [channels.after_restore]

    monkeypatch.delitem(sys.modules, "snapshot_restore_py", raising=False)
    monkeypatch.setattr(sys, "path", [])  # the library is not installed outside Lambda
    assert channels.register_snapstart_hook() is False

    runtime_library: Any = types.ModuleType("snapshot_restore_py")
    runtime_library.register_after_restore = registered.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime_library)
    assert channels.register_snapstart_hook() is True
    assert registered == [channels.after_restore, channels.after_restore]
