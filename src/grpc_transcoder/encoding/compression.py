"""Response compression: gzip for clients that accept it, from TRANSCODER_COMPRESSION_MIN_BYTES.

Input: the request's `Accept-Encoding` and a `Reply`. Output: the reply gzip-compressed with
`Content-Encoding: gzip` when the client allows gzip (q-values honoured) and the body is at
least the threshold; `Vary: Accept-Encoding` on every answer that could have been compressed,
so that caches keep both forms apart. The edge sends a compressed body base64-encoded.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

from grpc_transcoder.exchange import Reply, with_headers

LEVEL = 5  # zlib's default is 6; 5 gives nearly the same size for JSON at less CPU
GZIP_WINDOW = 16 + zlib.MAX_WBITS
MAX_CODINGS = 32  # Accept-Encoding entries read; a longer header is read that far
_NOT_COMPRESSED = frozenset({204, 304})
# Connect streams compress each message themselves (Connect-Content-Encoding): their clients
# read the body as envelopes, not through Content-Encoding.
_MESSAGE_COMPRESSED = "application/connect+"


def compressed(reply: Reply, accept_encoding: str, min_bytes: int) -> Reply:
    """`reply`, gzip-compressed when that is allowed and worth it."""
    if (
        min_bytes <= 0
        or len(reply.body) < min_bytes
        or reply.status in _NOT_COMPRESSED
        or "content-encoding" in reply.headers
        or reply.content_type.startswith(_MESSAGE_COMPRESSED)
    ):
        return reply
    varied = with_headers(reply, {"vary": "Accept-Encoding"})
    if not accepts_gzip(accept_encoding):
        return varied
    body = gzip_bytes(reply.body)
    if len(body) >= len(reply.body):
        return varied
    return replace(with_headers(varied, {"content-encoding": "gzip"}), body=body)


def gzip_bytes(data: bytes) -> bytes:
    """`data` as one gzip member, at the level every answer uses."""
    squeezer = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP_WINDOW)
    return squeezer.compress(data) + squeezer.flush()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether `Accept-Encoding` allows gzip: listed (or `*`) with a q-value above 0, and not
    refused by name."""
    gzip_q: float | None = None
    any_q: float | None = None
    for entry in accept_encoding.split(",", MAX_CODINGS)[:MAX_CODINGS]:
        coding, _, params = entry.partition(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            gzip_q = _quality(params)
        elif coding == "*":
            any_q = _quality(params)
    if gzip_q is not None:
        return gzip_q > 0
    return any_q is not None and any_q > 0


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip()[:8])
            except ValueError:
                return 0.0
            return quality if 0 <= quality <= 1 else 0.0
    return 1.0
