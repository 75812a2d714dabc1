"""Query string: query or form text as (key, value) pairs.

Input: the raw query string or a form body, as bytes. Output: decoded pairs in order with repeats
kept, and parsed parameter names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from grpc_transcoder.errors import FieldViolation, RequestError, Violations

Pair = tuple[str, str]


def parse_pairs(
    raw: bytes,
    violations: Violations,
    *,
    limit: int = 0,
    what: str = "the query string",
    plus_as_space: bool = True,
) -> list[Pair]:
    """`a=1&b=x+y&c=%2B` as [(a, 1), (b, x y), (c, +)], in order, repeats kept.

    `+` is a space (with `plus_as_space`; else it stays `+`) and `%XX` a byte; the bytes must
    be UTF-8 (else a violation naming the key). Empty pieces are skipped; a piece without `=`
    has the value "". More than `limit` pieces (0: no limit) raise RequestError (400) before
    any is split.
    """
    if limit and raw.count(b"&") >= limit:
        raise RequestError(
            f"{what} has more than {limit} parameters (TRANSCODER_MAX_PARAMETERS)",
            violations=[FieldViolation("", f"more than {limit} parameters")],
        )
    plus = b"+" if plus_as_space else b""
    if b"%" not in raw and (not plus or plus not in raw):
        try:  # the common case: nothing to unquote, one decode for the whole query
            return [_split(piece) for piece in raw.decode().split("&") if piece]
        except UnicodeDecodeError:
            pass  # the slow path below names the parameter that is not UTF-8
    pairs: list[Pair] = []
    for piece in raw.split(b"&"):
        if not piece:
            continue
        key, _, value = piece.partition(b"=")
        try:
            pairs.append((_unquote(key, plus), _unquote(value, plus)))
        except UnicodeDecodeError:
            name = _unquote_lossy(key, plus)
            violations.append(FieldViolation(name, "not valid UTF-8 after percent-decoding"))
    return pairs


def _split(piece: str) -> Pair:
    key, _, value = piece.partition("=")
    return key, value


def _unquote(raw: bytes, plus: bytes) -> str:
    if b"%" not in raw and (not plus or plus not in raw):
        return raw.decode()
    return unquote_to_bytes(raw.replace(plus, b" ") if plus else raw).decode()


def _unquote_lossy(raw: bytes, plus: bytes) -> str:
    return unquote_to_bytes(raw.replace(plus, b" ") if plus else raw).decode(errors="replace")


@dataclass(frozen=True, slots=True)
class ParameterKey:
    """A parameter name: a dotted field path, and for `name[key]` the map key."""

    path: tuple[str, ...]
    map_key: str | None = None


def parse_key(text: str) -> ParameterKey:
    """`a.b.c` -> (a, b, c); `labels[k.1]` -> (labels,) with map key `k.1`; `tags[]` -> ''.

    Names repeat from request to request, so short ones are parsed once and kept (at most
    4,096 of them, none longer than MAX_CACHED_KEY_CHARS: the client chooses them).
    """
    if len(text) <= MAX_CACHED_KEY_CHARS:
        return _parse_cached(text)
    return _parse(text)


MAX_CACHED_KEY_CHARS = 128


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> ParameterKey:
    return _parse(text)


def _parse(text: str) -> ParameterKey:
    if text.endswith("]") and "[" in text:
        head, _, rest = text.partition("[")
        return ParameterKey(tuple(head.split(".")), rest[:-1])
    return ParameterKey(tuple(text.split(".")))
