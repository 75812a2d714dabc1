"""Percent-encoding of path segments, as the reference transcoder decodes them.

Input: one raw path segment as the client sent it. Output: the value bound to a variable, or the
canonical form under which a literal segment is matched.
"""

from __future__ import annotations

import re

# RFC 6570 reserved characters: a multi-segment variable keeps them percent-encoded, so that a
# bound `shelves/a%2Fb` still tells its two segments from a literal slash.
RESERVED = frozenset("!#$&'()*+,/:;=?@[]")
# RFC 3986 unreserved characters: encoding them changes nothing (section 6.2.2.2).
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


SLASH = frozenset("/")
NOTHING: frozenset[str] = frozenset()


def decode(segment: str, *, keep: frozenset[str] = NOTHING) -> str:
    """`segment` with its %XX escapes decoded as UTF-8.

    Escapes of the characters in `keep` stay as they are (with RESERVED, `%2F` remains
    `%2F`). Malformed escapes (`%`, `%G1`) are kept literally, as the reference does.
    Raises UnicodeDecodeError when the result is not valid UTF-8.
    """
    if "%" not in segment and segment.isascii():
        return segment
    data = bytearray()
    position = 0
    for escape in _ESCAPE.finditer(segment):
        byte = int(escape.group(1), 16)
        if keep and chr(byte) in keep:
            continue
        data += segment[position : escape.start()].encode("utf-8", "surrogatepass")
        data.append(byte)
        position = escape.end()
    data += segment[position:].encode("utf-8", "surrogatepass")
    return data.decode("utf-8")


def canonical(segment: str) -> str:
    """The form under which literal segments compare equal (RFC 3986 normalization).

    Escapes of unreserved characters are decoded, other escapes get upper-case hex digits and
    characters outside ASCII are encoded as UTF-8, so `%7Ebook`, `~book` and `%7ebook` match one
    literal, while `a%2Fb` never matches `a/b`.
    """
    if "%" not in segment and segment.isascii():
        return segment
    if not segment.isascii():
        segment = "".join(_encode_non_ascii(char) for char in segment)
    return _ESCAPE.sub(_normalize_escape, segment)


def _encode_non_ascii(char: str) -> str:
    if char.isascii():
        return char
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _normalize_escape(escape: re.Match[str]) -> str:
    char = chr(int(escape.group(1), 16))
    return char if char in UNRESERVED else escape.group(0).upper()
