"""Response metadata: the backend's headers and trailers as HTTP response headers.

Input: the initial and trailing metadata of a call. Output: `Grpc-Metadata-<key>` and
`Grpc-Trailer-<key>` headers, the 2xx status a backend may choose with `x-http-code`, and the
`WWW-Authenticate` challenge of an UNAUTHENTICATED answer, and the keys of
TRANSCODER_RESPONSE_HEADERS as plain headers and cookies; `finish` puts them on a reply, for
JSON and pass-through calls alike.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable

from grpc_transcoder.errors import response_too_large
from grpc_transcoder.exchange import Metadata, Reply

logger = logging.getLogger(__name__)

HEADER_PREFIX = "Grpc-Metadata-"
TRAILER_PREFIX = "Grpc-Trailer-"
HTTP_CODE_KEY = "x-http-code"
WWW_AUTHENTICATE_KEY = "www-authenticate"
SET_COOKIE = "set-cookie"
DEFAULT_CHALLENGE = "Bearer"
# Never copied: gRPC's own framing and status keys, and keys the transcoder consumes.
_NOT_COPIED = frozenset({"content-type", HTTP_CODE_KEY})
# Statuses a backend may pick for a successful answer (grpc-gateway's x-http-code convention).
SUCCESS_STATUSES = range(200, 300)


def finish(
    reply: Reply,
    initial: Metadata,
    trailing: Metadata,
    max_bytes: int,
    plain: frozenset[str] = frozenset(),
) -> Reply:
    """A unary call's reply with the backend's metadata as headers and its `x-http-code`
    status; raises the response-size error when the body is over `max_bytes`.

    The keys in `plain` (TRANSCODER_RESPONSE_HEADERS) are also copied as plain headers, and
    each `set-cookie` value as a cookie of its own.
    """
    if len(reply.body) > max_bytes:
        raise response_too_large(max_bytes, what=f"the response ({len(reply.body)} bytes)")
    if not initial and not trailing:
        return reply
    merged = {**reply.headers, **headers(initial, trailing)}
    cookies = reply.cookies
    if plain:
        copied, cookies = plain_headers(initial, trailing, plain)
        merged.update(copied)
    status = http_status(initial, trailing) if reply.status == 200 else None
    if status is None:
        return Reply(reply.status, reply.body, merged, reply.content_type, cookies)
    body = b"" if status == 204 else reply.body
    return Reply(status, body, merged, reply.content_type, cookies)


def plain_headers(
    initial: Metadata, trailing: Metadata, keys: frozenset[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The metadata entries named in `keys` as plain headers (repeated ones joined with
    ", "), and the `set-cookie` values apart. Only text values that are valid header values
    are copied: nothing a backend sends can split or forge a header."""
    found: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in (*initial, *trailing):
        if key not in keys or not isinstance(value, str):
            continue
        if not (value.isascii() and value.isprintable()):
            logger.warning("not copied as a header: the value of %r is not printable ASCII", key)
        elif key == SET_COOKIE:
            cookies.append(value)
        else:
            found[key] = f"{found[key]}, {value}" if key in found else value
    return found, tuple(cookies)


def headers(initial: Metadata, trailing: Metadata) -> dict[str, str]:
    """HTTP headers for the metadata; repeated keys are joined with ", "."""
    result: dict[str, str] = {}
    _add(result, HEADER_PREFIX, initial)
    _add(result, TRAILER_PREFIX, trailing)
    return result


def _add(result: dict[str, str], prefix: str, metadata: Iterable[tuple[str, str | bytes]]) -> None:
    for key, value in metadata:
        if key in _NOT_COPIED or key.startswith("grpc-"):
            continue
        name = prefix + key
        text = _text(value)
        result[name] = f"{result[name]}, {text}" if name in result else text


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        # Binary (`-bin`) values travel base64-encoded, as on the gRPC wire.
        return base64.b64encode(value).decode("ascii")
    return value


def http_status(initial: Metadata, trailing: Metadata) -> int | None:
    """The 2xx status named by an `x-http-code` entry, if the backend sent a valid one."""
    for key, value in (*initial, *trailing):
        if key != HTTP_CODE_KEY:
            continue
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        if text.strip().isdigit() and int(text) in SUCCESS_STATUSES:
            return int(text)
        logger.warning("ignored x-http-code %r from the backend: only 200-299 may be set", text)
    return None


def challenge(initial: Metadata, trailing: Metadata) -> str:
    """The `WWW-Authenticate` value for a 401: the backend's own, else `Bearer`."""
    for key, value in (*initial, *trailing):
        if key == WWW_AUTHENTICATE_KEY and isinstance(value, str) and value:
            return value
    return DEFAULT_CHALLENGE
