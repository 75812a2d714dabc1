"""The client side of gRPC-Web, written from the protocol description for the tests.

Independent of `grpc_transcoder.grpc_web` on purpose: the tests check our framing against this
reading of the protocol, not against itself.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

GRPC_WEB = "application/grpc-web+proto"
GRPC_WEB_TEXT = "application/grpc-web-text+proto"


def request_body(messages: Sequence[bytes], *, text: bool = False) -> bytes:
    """Data frames for `messages`; base64 per message (padded chunks) in text mode."""
    frames = [b"\x00" + struct.pack(">I", len(m)) + m for m in messages]
    if text:
        return b"".join(base64.b64encode(frame) for frame in frames)
    return b"".join(frames)


@dataclass
class WebAnswer:
    """What a gRPC-Web client reads from a response body."""

    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    frames_after_trailer: int = 0

    @property
    def status(self) -> int:
        return int(self.trailers["grpc-status"])

    @property
    def message(self) -> str:
        return unquote(self.trailers.get("grpc-message", ""))

    def binary_trailer(self, key: str) -> bytes:
        value = self.trailers[key]
        return base64.b64decode(value + "=" * (-len(value) % 4))


def read(body: bytes, *, text: bool = False) -> WebAnswer:
    """Parse a response body: data frames, then exactly one trailer frame."""
    data = base64.b64decode(body) if text else body
    answer = WebAnswer()
    seen_trailer = False
    offset = 0
    while offset < len(data):
        flag, length = struct.unpack_from(">BI", data, offset)
        payload = data[offset + 5 : offset + 5 + length]
        assert len(payload) == length, "truncated frame"
        offset += 5 + length
        if seen_trailer:
            answer.frames_after_trailer += 1
        if flag & 0x80:
            seen_trailer = True
            for line in payload.decode("ascii").split("\r\n"):
                if line:
                    key, _, value = line.partition(":")
                    answer.trailers[key.strip().lower()] = value.strip()
        else:
            assert flag == 0, f"unexpected flag {flag}"
            answer.messages.append(payload)
    assert seen_trailer, "no trailer frame"
    return answer
