"""Connect metadata: a call's gRPC metadata as the headers and trailers Connect clients read.

Input: initial and trailing metadata (the backend's). Output: response headers (initial
metadata under its own names), `Trailer-<key>` headers for the trailers of unary calls, and the
`metadata` object of a stream's end-of-stream message. Binary (`-bin`) values are base64. Keys
that would describe the HTTP exchange itself, gRPC's own keys and CORS headers are never
copied, nor values that are not printable ASCII: nothing a backend sends can forge or split a
header.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable

from grpc_transcoder.exchange import Metadata
from grpc_transcoder.settings import NOT_RESPONSE_HEADERS

logger = logging.getLogger(__name__)

TRAILER_PREFIX = "trailer-"
# Besides the hop-by-hop and body headers: the ones the function itself answers for (CORS,
# caching, cookies through TRANSCODER_RESPONSE_HEADERS) and the protocol's own.
_NOT_COPIED = NOT_RESPONSE_HEADERS | {
    "set-cookie",
    "vary",
    "date",
    "server",
    "etag",
    "x-http-code",
    "www-authenticate",
    "allow",
    "retry-after",
}
_NOT_COPIED_PREFIXES = ("grpc-", "connect-", "access-control-", TRAILER_PREFIX, ":")


def headers(initial: Metadata) -> dict[str, str]:
    """Initial metadata as response headers (repeated keys joined with ", ")."""
    return _joined(initial, "")


def trailer_headers(trailing: Metadata) -> dict[str, str]:
    """Trailing metadata of a unary call as `Trailer-<key>` headers."""
    return _joined(trailing, TRAILER_PREFIX)


def end_stream_metadata(trailing: Metadata) -> dict[str, list[str]]:
    """Trailing metadata as the end-of-stream message's `metadata` object."""
    result: dict[str, list[str]] = {}
    for key, text in _copied(trailing):
        result.setdefault(key, []).append(text)
    return result


def _joined(metadata: Metadata, prefix: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, text in _copied(metadata):
        name = prefix + key
        result[name] = f"{result[name]}, {text}" if name in result else text
    return result


def _copied(metadata: Iterable[tuple[str, str | bytes]]) -> Iterable[tuple[str, str]]:
    for key, value in metadata:
        if key in _NOT_COPIED or key.startswith(_NOT_COPIED_PREFIXES):
            continue
        if isinstance(value, bytes):
            yield key, base64.b64encode(value).decode("ascii").rstrip("=")
        elif value.isascii() and value.isprintable():
            yield key, value
        else:
            logger.warning("metadata %r not sent to the Connect client: not printable ASCII", key)
