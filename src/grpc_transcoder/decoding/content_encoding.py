"""Request content encoding: a gzip body decompressed, within the request size limit.

Input: an `HttpRequest` whose `Content-Encoding` may be `gzip`. Output: the request with the
decompressed body and without that header; 413 when the body would grow past
TRANSCODER_MAX_REQUEST_BYTES, found while decompressing (a small body that expands to 100 MiB
costs what reading the limit costs, never the 100 MiB), 400 for a body that is not gzip, and
415 for any other encoding.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

from grpc_transcoder.errors import RequestError, request_too_large
from grpc_transcoder.exchange import HttpRequest

HEADER = "content-encoding"
GZIP = frozenset({"gzip", "x-gzip"})
IDENTITY = "identity"
GZIP_WINDOW = 16 + zlib.MAX_WBITS  # the gzip wrapper around DEFLATE
MAX_MEMBERS = 16  # concatenated gzip members in one body (RFC 1952 allows several)


class UnsupportedEncodingError(RequestError):
    """A content encoding the transcoder cannot read (415; Connect answers it unimplemented)."""


def decoded(request: HttpRequest, max_bytes: int) -> HttpRequest:
    """The request as the client meant it; raises RequestError (400, 413, 415)."""
    encoding = request.headers.get(HEADER)
    if encoding is None:
        return request
    coding = encoding.strip().lower()
    headers = {name: value for name, value in request.headers.items() if name != HEADER}
    if coding in ("", IDENTITY):
        return replace(request, headers=headers)
    if coding not in GZIP:
        raise UnsupportedEncodingError(
            f"unsupported Content-Encoding {encoding[:40]!r}; send gzip or an unencoded body",
            status=415,
        )
    if not request.body:  # nothing to inflate: an empty body is empty in every encoding
        return replace(request, headers=headers)
    body = gunzip(request.body, max_bytes, what="the request body (Content-Encoding: gzip)")
    return replace(request, body=body, headers=headers)


def gunzip(data: bytes, max_bytes: int, *, what: str = "the request body") -> bytes:
    """The decompressed bytes of `data`, never more than `max_bytes` of them held.

    `what` names the data in errors (a request body, a Connect message).
    """
    pieces: list[bytes] = []
    size = 0
    rest = data
    for _ in range(MAX_MEMBERS):
        member = zlib.decompressobj(GZIP_WINDOW)
        try:
            out = member.decompress(rest, max_bytes - size + 1)
        except zlib.error:
            raise RequestError(f"{what} is not valid gzip") from None
        size += len(out)
        if size > max_bytes:
            raise request_too_large(size, max_bytes, what=f"{what}, decompressed,")
        if not member.eof:
            raise RequestError(f"{what} ends early: the gzip data is cut short")
        pieces.append(out)
        rest = member.unused_data
        if not rest:
            return b"".join(pieces)
    raise RequestError(f"{what} has more than {MAX_MEMBERS} gzip members")
