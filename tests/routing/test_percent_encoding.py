"""Percent-encoding of path segments: the reference's decoding rules and literal canonical forms."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.routing.percent_encoding import (
    NOTHING,
    RESERVED,
    SLASH,
    UNRESERVED,
    canonical,
    decode,
)

ALL_RESERVED = "%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D"


@pytest.mark.parametrize(
    ("segment", "keep_reserved", "value"),
    [
        pytest.param("plain", False, "plain", id="nothing-to-decode"),
        pytest.param("p%20q%2Fr", False, "p q/r", id="single-segment-fully-decoded"),
        pytest.param(ALL_RESERVED, False, "!#$&'()*+,/:;=?@[]", id="single-every-reserved"),
        pytest.param(ALL_RESERVED, True, ALL_RESERVED, id="multi-keeps-every-reserved"),
        pytest.param("foo%20foo", True, "foo foo", id="multi-decodes-space"),
        pytest.param("bar%2Fbar", True, "bar%2Fbar", id="multi-keeps-slash"),
        pytest.param("bar%2fbar", True, "bar%2fbar", id="multi-keeps-lower-case-escape"),
        pytest.param("caf%C3%A9", False, "caf\u00e9", id="utf-8"),
        pytest.param("caf%c3%a9", True, "caf\u00e9", id="utf-8-lower-hex-multi"),
        pytest.param("100%", False, "100%", id="lone-percent-kept"),
        pytest.param("%G1%2", False, "%G1%2", id="malformed-escapes-kept"),
        pytest.param("a+b", False, "a+b", id="plus-is-not-space-in-paths"),
        pytest.param("caf\u00e9", False, "caf\u00e9", id="raw-non-ascii"),
        pytest.param("%00", False, "\x00", id="nul"),
    ],
)
def test_decode(segment: str, keep_reserved: bool, value: str) -> None:
    assert decode(segment, keep=RESERVED if keep_reserved else NOTHING) == value


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("caf%E9", id="latin-1-byte"),
        pytest.param("%C3", id="truncated-sequence"),
        pytest.param("\udc80", id="lone-surrogate"),
    ],
)
def test_decode_rejects_what_is_not_utf8(segment: str) -> None:
    with pytest.raises(UnicodeDecodeError):
        decode(segment, keep=NOTHING)


@pytest.mark.parametrize("code", range(0x7F))
def test_every_ascii_escape_decodes_in_a_single_segment(code: int) -> None:
    # The reference's PercentEscapesUnescapedForSingleSegmentAllAsciiChars, both hex cases.
    for escape in (f"%{code:02X}", f"%{code:02x}"):
        assert decode(escape, keep=NOTHING) == chr(code)
        kept = decode(escape, keep=RESERVED)
        assert kept == (escape if chr(code) in RESERVED else chr(code))


@pytest.mark.parametrize(
    ("segment", "form"),
    [
        pytest.param("books", "books", id="plain"),
        pytest.param("%62ooks", "books", id="unreserved-escape-decoded"),
        pytest.param("%7Ebook", "~book", id="tilde"),
        pytest.param("a%2fb", "a%2Fb", id="reserved-escape-upper-cased"),
        pytest.param("caf\u00e9", "caf%C3%A9", id="non-ascii-encoded"),
        pytest.param("caf%c3%a9", "caf%C3%A9", id="non-ascii-escape-upper-cased"),
        pytest.param("100%", "100%", id="lone-percent"),
    ],
)
def test_canonical(segment: str, form: str) -> None:
    assert canonical(segment) == form


@given(st.text())
def test_a_fully_encoded_segment_decodes_to_itself(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return  # lone surrogates: not a string a client can send
    assert decode(quote(text, safe=""), keep=NOTHING) == text


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_multi_segment_decoding_keeps_exactly_the_reserved_escapes(text: str) -> None:
    kept = decode(quote(text, safe=""), keep=RESERVED)
    assert decode(kept, keep=NOTHING) == text
    for char in RESERVED & set(text):
        assert char not in kept


_UNRESERVED_OR_NON_ASCII = st.lists(
    st.one_of(st.sampled_from(sorted(UNRESERVED)), st.characters(min_codepoint=0x80, codec="utf-8"))
).map("".join)


@given(_UNRESERVED_OR_NON_ASCII)
def test_encoding_unreserved_or_non_ascii_characters_keeps_the_canonical_form(text: str) -> None:
    escaped = "".join(f"%{byte:02x}" for byte in text.encode())
    assert canonical(escaped) == canonical(text)
    assert canonical(canonical(text)) == canonical(text)


def test_decode_can_keep_only_the_slash() -> None:
    assert decode("a%2Fb%3Ac%23d", keep=SLASH) == "a%2Fb:c#d"
