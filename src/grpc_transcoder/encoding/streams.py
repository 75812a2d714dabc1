"""Stream encoding: the messages of a server stream as one HTTP body.

Input: the serialized response messages, a way to turn each into JSON, the `Accept` header
and the size limit. Output: a JSON array (default), NDJSON (`application/x-ndjson`) or SSE
(`text/event-stream`) body. An error after some messages ends the body with an error element
(array, NDJSON) or an `event: error` frame (SSE); it is never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from grpc_transcoder.errors import TranscoderError, response_too_large

# Room kept for the error element that ends a body cut at the size limit.
ERROR_RESERVE_BYTES = 2048


class StreamFormat(enum.Enum):
    """How the messages are framed; the value is the response Content-Type."""

    JSON_ARRAY = "application/json"
    NDJSON = "application/x-ndjson"
    SSE = "text/event-stream"


_BY_MEDIA_TYPE = {
    "application/json": StreamFormat.JSON_ARRAY,
    "application/x-ndjson": StreamFormat.NDJSON,
    "application/ndjson": StreamFormat.NDJSON,
    "application/jsonl": StreamFormat.NDJSON,
    "text/event-stream": StreamFormat.SSE,
}


def negotiate(accept: str) -> StreamFormat:
    """The format the `Accept` header prefers: highest q, then first listed; else JSON array."""
    chosen, chosen_q = StreamFormat.JSON_ARRAY, 0.0
    for part in accept.split(","):
        media, _, params = part.partition(";")
        found = _BY_MEDIA_TYPE.get(media.strip().lower())
        quality = _quality(params)
        if found is not None and quality > chosen_q:
            chosen, chosen_q = found, quality
    return chosen


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


@dataclass(frozen=True, slots=True)
class EncodedStream:
    """The framed body; `error` is the failure that ended it early, if any."""

    body: bytes
    content_type: str
    count: int
    error: TranscoderError | None


class StreamEncoder:
    """Frames messages in one format, within `max_bytes`.

    `to_json` turns one serialized message into its JSON value; `error_body` renders an
    error as the JSON body the error path would answer (status or Google format).
    """

    def __init__(
        self,
        stream_format: StreamFormat,
        *,
        to_json: Callable[[bytes], Any],
        error_body: Callable[[TranscoderError], bytes],
        max_bytes: int,
    ) -> None:
        self._format = stream_format
        self._to_json = to_json
        self._error_body = error_body
        self._max_bytes = max_bytes

    def encode(self, messages: Iterable[bytes]) -> EncodedStream:
        """Frame every message; raises the error itself when it comes before any message."""
        frames: list[bytes] = []
        size = len(self._open()) + len(self._close())
        error: TranscoderError | None = None
        iterator = iter(messages)
        try:
            for data in iterator:
                frame = self._frame(orjson.dumps(self._to_json(data)), first=not frames)
                size += len(frame)
                if size + ERROR_RESERVE_BYTES > self._max_bytes:
                    error = response_too_large(
                        self._max_bytes, what=f"the stream after {len(frames)} messages"
                    )
                    break
                frames.append(frame)
        except TranscoderError as exc:
            error = exc
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # cancels the call when the body was cut short
        if error is not None and not frames:
            raise error
        return self._body(frames, error)

    def _body(self, frames: list[bytes], error: TranscoderError | None) -> EncodedStream:
        tail = b"" if error is None else self._error_frame(error, first=not frames)
        body = self._open() + b"".join(frames) + tail + self._close()
        return EncodedStream(body, self._format.value, len(frames), error)

    def _open(self) -> bytes:
        return b"[" if self._format is StreamFormat.JSON_ARRAY else b""

    def _close(self) -> bytes:
        return b"]" if self._format is StreamFormat.JSON_ARRAY else b""

    def _frame(self, item: bytes, *, first: bool) -> bytes:
        if self._format is StreamFormat.JSON_ARRAY:
            return item if first else b"," + item
        if self._format is StreamFormat.NDJSON:
            return item + b"\n"
        return b"data: " + item + b"\n\n"

    def _error_frame(self, error: TranscoderError, *, first: bool) -> bytes:
        body = self._error_body(error)
        if self._format is StreamFormat.SSE:
            return b"event: error\ndata: " + body + b"\n\n"
        return self._frame(_error_element(body), first=first)


def _error_element(body: bytes) -> bytes:
    """`{"error": {...}}`, as grpc-gateway ends a stream; a Google-format body already is."""
    return body if body.startswith(b'{"error":') else b'{"error":' + body + b"}"
