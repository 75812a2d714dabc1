"""Request metadata: the HTTP request's headers, client address, ids and identity as gRPC metadata.

Input: an `HttpRequest` (lower-case headers, the client address, the authorizer's data).
Output: the metadata sent to the backend, every key and value already valid for gRPC.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.exchange import HttpRequest, Metadata
from grpc_transcoder.settings import HOP_BY_HOP

logger = logging.getLogger(__name__)


METADATA_HEADER_PREFIX = "grpc-metadata-"
ALWAYS_FORWARDED = frozenset({"authorization"})
# Hop-by-hop headers (RFC 9110 7.6.1) describe one HTTP connection, not the call; the rest
# are set by gRPC itself. `grpc-*` keys are refused separately, whatever their spelling.
NEVER_FORWARDED = HOP_BY_HOP | {"host", "content-length", "content-type"}
FORWARDED_FOR = "x-forwarded-for"
FORWARDED_HOST = "x-forwarded-host"
REQUEST_ID = "x-request-id"
# Keys the transcoder sets itself (trace context comes from `tracing`, which validates it):
# a client can never send them under these names.
GENERATED = frozenset(
    {FORWARDED_FOR, FORWARDED_HOST, REQUEST_ID, "traceparent", "tracestate", "x-amzn-trace-id"}
)

_KEY = re.compile(r"[0-9a-z_.\-]+")
_VALUE = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True, slots=True)
class AuthorizerField:
    """One entry of TRANSCODER_AUTHORIZER_METADATA: a path under requestContext.authorizer."""

    path: str
    key: str


class MetadataPolicy:
    """Which headers become metadata and which identity fields are added; built once.

    `forward_headers` are lower-case header names forwarded as they are (besides
    `authorization` and `Grpc-Metadata-*`); `authorizer_metadata` maps authorizer field paths
    such as `jwt.claims.sub` to metadata keys that only the authorizer may fill.
    """

    def __init__(
        self,
        *,
        forward_headers: Iterable[str] = (),
        authorizer_metadata: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._forward = ALWAYS_FORWARDED | {name.lower() for name in forward_headers}
        self._authorizer = tuple(AuthorizerField(p, k.lower()) for p, k in authorizer_metadata)
        for entry in self._authorizer:
            if not entry.path or _KEY.fullmatch(entry.key) is None or entry.key.endswith("-bin"):
                raise ConfigurationError(
                    f"TRANSCODER_AUTHORIZER_METADATA: {entry.path!r} -> {entry.key!r}: the path"
                    " must not be empty and the key must be a text metadata key (lower-case"
                    " letters, digits, '-', '_', '.'; not ending in -bin)"
                )
        self._reserved = GENERATED | {e.key for e in self._authorizer}

    def request_metadata(self, request: HttpRequest) -> Metadata:
        """The metadata for one call: client headers first, then what the transcoder adds."""
        entries: list[tuple[str, str | bytes]] = []
        forward = self._forward
        for name, value in request.headers.items():
            # Most headers are not forwarded: a set lookup settles them without a call.
            if name in forward or name.startswith(METADATA_HEADER_PREFIX):
                key = self._metadata_key(name)
                if key is not None and (entry := _valid(key, value)) is not None:
                    entries.append(entry)
        # The keys the transcoder sets are valid by construction: only values are checked.
        for key, value in self._generated(request):
            if value.isascii() and value.isprintable():
                entries.append((key, value))
            else:
                logger.warning("skipped metadata %r: the value is not printable ASCII", key)
        return tuple(entries)

    def _metadata_key(self, name: str) -> str | None:
        """The metadata key of a request header, or None when it is not forwarded."""
        if name.startswith(METADATA_HEADER_PREFIX):
            key = name[len(METADATA_HEADER_PREFIX) :]
        elif name in self._forward:
            key = name
        else:
            return None
        # A `-bin` twin names the same metadata as its text key: it is refused with it.
        base = key[:-4] if key.endswith("-bin") else key
        if base in NEVER_FORWARDED or key.startswith("grpc-"):
            logger.debug("header %r is never forwarded as metadata", name)
            return None
        if base in self._reserved:
            logger.warning(
                "dropped header %r: metadata %r is set only by the transcoder", name, key
            )
            return None
        return key

    def _generated(self, request: HttpRequest) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if request.source_ip:
            found.append((FORWARDED_FOR, request.source_ip))
        host = request.headers.get("host")
        if host is not None:
            found.append((FORWARDED_HOST, host))
        if request.request_id:
            found.append((REQUEST_ID, request.request_id))
        found.extend(request.trace.metadata())
        if self._authorizer:
            found.extend(self._identity(request.authorizer))
        return found

    def _identity(self, authorizer: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for entry in self._authorizer:
            value = lookup(authorizer, entry.path)
            if value is not None:
                yield entry.key, _text(value)


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path`, where keys may themselves hold dots (URL claim names).

    At each level the longest key that is the whole remaining path or a prefix of it
    followed by a dot wins, so `jwt.claims.https://example.com/roles` finds that claim.
    """
    node: Any = data
    rest = path
    while rest:
        if not isinstance(node, Mapping):
            return None
        key = _longest_key(node, rest)
        if key is None:
            return None
        node, rest = node[key], rest[len(key) + 1 :]
    return node


def _longest_key(node: Mapping[str, Any], rest: str) -> str | None:
    best: str | None = None
    for key in node:
        if (rest == key or rest.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _valid(key: str, value: str) -> tuple[str, str | bytes] | None:
    """The entry gRPC accepts for `key: value`, or None (with a log line) when it would not."""
    if _KEY.fullmatch(key) is None:
        logger.warning("skipped metadata %r: keys allow only a-z, 0-9, '-', '_' and '.'", key)
        return None
    if key.endswith("-bin"):
        return _binary(key, value)
    if _VALUE.fullmatch(value) is None:
        logger.warning(
            "skipped metadata %r: the value holds characters outside printable ASCII", key
        )
        return None
    return key, value


def _binary(key: str, value: str) -> tuple[str, bytes] | None:
    text = value.strip()
    try:
        return key, base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        logger.warning("skipped metadata %r: a -bin value must be base64", key)
        return None
