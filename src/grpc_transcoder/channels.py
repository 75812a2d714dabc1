"""Channels: one gRPC channel per backend target, created on first use and reused.

Input: a `backends.Target`. Output: a `grpc.Channel`. Channels are never opened during init
(connections made before a SnapStart snapshot are dead after restore).
"""

from __future__ import annotations

import logging

import grpc

from grpc_transcoder.backends import Target

logger = logging.getLogger(__name__)


class ChannelCache:
    def __init__(self) -> None:
        self._channels: dict[Target, grpc.Channel] = {}

    def get(self, target: Target) -> grpc.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = self._open(target)
            self._channels[target] = channel
        return channel

    def _open(self, target: Target) -> grpc.Channel:
        logger.info("opening channel to %s", target)
        if target.tls:
            return grpc.secure_channel(target.address, grpc.ssl_channel_credentials())
        return grpc.insecure_channel(target.address)

    def close_all(self) -> None:
        """Close every channel (after a SnapStart restore, or in tests)."""
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            channel.close()
