"""Connect envelopes: the framing of Connect streams, read from requests and written in answers.

Input: a streaming request body (`application/connect+<codec>`) and its
`Connect-Content-Encoding`. Output: the request messages, decompressed within the request size
limit; for the answer, enveloped messages (gzip-compressed where the client accepts it and they
are large enough) and the end-of-stream message carrying the error and the trailers.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

from grpc_transcoder.decoding.content_encoding import (
    GZIP,
    IDENTITY,
    UnsupportedEncodingError,
    gunzip,
)
from grpc_transcoder.encoding import compression
from grpc_transcoder.errors import Code, RequestError, request_too_large

FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
HEADER = struct.Struct(">BI")  # flags, then the big-endian length of the payload
GZIP_NAME = "gzip"


def read(body: bytes, encoding: str, *, max_bytes: int, limit: int = 0) -> list[bytes]:
    """The messages of a request stream; raises RequestError naming what is wrong.

    `encoding` is the request's Connect-Content-Encoding (gzip or none). Decompressed
    messages count against `max_bytes` together; reading stops after `limit` + 1 messages
    (0: no limit): one too many is enough to refuse.
    """
    compressed_with = _request_encoding(encoding)
    messages: list[bytes] = []
    offset = size = 0
    while offset < len(body) and not (limit and len(messages) > limit):
        index = len(messages) + 1
        if len(body) - offset < HEADER.size:
            raise RequestError(
                f"the Connect stream ends inside the 5-byte prefix of message {index}"
            )
        flags, length = HEADER.unpack_from(body, offset)
        offset += HEADER.size
        if len(body) - offset < length:
            raise RequestError(
                f"the Connect stream ends inside message {index}: {length} bytes announced,"
                f" {len(body) - offset} left"
            )
        data = body[offset : offset + length]
        offset += length
        if flags == FLAG_COMPRESSED:
            if not compressed_with:
                raise RequestError(
                    f"message {index} of the Connect stream is compressed, but the request"
                    " names no Connect-Content-Encoding"
                )
            if data:  # an empty message is empty in every encoding
                what = f"message {index} of the Connect stream"
                data = gunzip(data, max_bytes - size, what=what)
        elif flags != 0:
            what = "an end-of-stream message" if flags & FLAG_END_STREAM else f"flags 0x{flags:02x}"
            raise RequestError(f"message {index} of the Connect stream has {what}; send messages")
        size += len(data)
        if size > max_bytes:
            raise request_too_large(size, max_bytes, what="the Connect request stream")
        messages.append(data)
    return messages


def _request_encoding(encoding: str) -> bool:
    """Whether compressed messages are gzip; raises UNIMPLEMENTED for another encoding."""
    coding = encoding.strip().lower()
    if coding in GZIP:
        return True
    if coding in ("", IDENTITY):
        return False
    raise UnsupportedEncodingError(
        f"unsupported Connect-Content-Encoding {encoding[:40]!r}; send gzip or identity",
        code=Code.UNIMPLEMENTED,
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a client's Connect-Accept-Encoding lists gzip."""
    return compression.accepts_gzip(accept_encoding)


class Writer:
    """Envelopes for one answer; messages from `min_bytes` on are gzip-compressed (0: never)."""

    __slots__ = ("_min_bytes",)

    def __init__(self, min_bytes: int) -> None:
        self._min_bytes = min_bytes

    @property
    def encoding(self) -> str:
        """The Connect-Content-Encoding of the answer ("" when nothing is compressed)."""
        return GZIP_NAME if self._min_bytes else ""

    def message(self, data: bytes) -> bytes:
        if self._min_bytes and len(data) >= self._min_bytes:
            squeezed = compression.gzip_bytes(data)
            if len(squeezed) < len(data):
                return HEADER.pack(FLAG_COMPRESSED, len(squeezed)) + squeezed
        return HEADER.pack(0, len(data)) + data

    @staticmethod
    def end(error: dict[str, Any] | None, metadata: dict[str, list[str]]) -> bytes:
        """The end-of-stream message: `{"error": ..., "metadata": ...}`, each when present."""
        payload: dict[str, Any] = {}
        if error is not None:
            payload["error"] = error
        if metadata:
            payload["metadata"] = metadata
        data = orjson.dumps(payload)
        return HEADER.pack(FLAG_END_STREAM, len(data)) + data
