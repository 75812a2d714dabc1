"""query_string: the key=value grammar of queries and form bodies."""

from __future__ import annotations

from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.decoding.query_string import ParameterKey, parse_key, parse_pairs
from grpc_transcoder.errors import FieldViolation, Violations

# -- the grammar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        pytest.param(b"a=1&b=2", [("a", "1"), ("b", "2")], id="two-pairs"),
        pytest.param(b"a=x+y", [("a", "x y")], id="plus-is-space"),
        pytest.param(b"a=%2B", [("a", "+")], id="encoded-plus-is-plus"),
        pytest.param(b"a=%C3%A9&%C3%A9=1", [("a", "é"), ("é", "1")], id="utf-8"),
        pytest.param(b"a=1&a=2", [("a", "1"), ("a", "2")], id="repeats-kept-in-order"),
        pytest.param(b"flag", [("flag", "")], id="no-equals-sign"),
        pytest.param(b"a=b=c", [("a", "b=c")], id="second-equals-is-value"),
        pytest.param(b"&&a=1&", [("a", "1")], id="empty-pieces-skipped"),
        pytest.param(b"a=%zz", [("a", "%zz")], id="bad-escape-kept"),
        pytest.param(b"m%5Bk%5D=v", [("m[k]", "v")], id="encoded-brackets"),
        pytest.param(b"", [], id="empty"),
    ],
)
def test_parse_pairs(raw: bytes, pairs: list[tuple[str, str]]) -> None:
    violations = Violations()
    assert parse_pairs(raw, violations) == pairs
    assert not violations


def test_invalid_utf8_is_a_violation_naming_the_key() -> None:
    violations = Violations()
    assert parse_pairs(b"name=%FF%FE&ok=1", violations) == [("ok", "1")]
    assert violations.listed == [FieldViolation("name", "not valid UTF-8 after percent-decoding")]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("a", ParameterKey(("a",)), id="name"),
        pytest.param("a.b.c", ParameterKey(("a", "b", "c")), id="dotted"),
        pytest.param("labels[k]", ParameterKey(("labels",), "k"), id="map-entry"),
        pytest.param("labels[k.1]", ParameterKey(("labels",), "k.1"), id="map-key-with-dot"),
        pytest.param("labels[a[b]]", ParameterKey(("labels",), "a[b]"), id="map-key-brackets"),
        pytest.param("a.labels[k]", ParameterKey(("a", "labels"), "k"), id="nested-map"),
        pytest.param("tags[]", ParameterKey(("tags",), ""), id="empty-brackets"),
        pytest.param("a[b", ParameterKey(("a[b",)), id="unclosed-bracket"),
    ],
)
def test_parse_key(text: str, key: ParameterKey) -> None:
    assert parse_key(text) == key


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_TEXT, _TEXT), max_size=6), plus=st.booleans())
def test_encoded_pairs_round_trip(pairs: list[tuple[str, str]], plus: bool) -> None:
    raw = urlencode(pairs, quote_via=quote_plus if plus else quote).encode()
    violations = Violations()
    assert parse_pairs(raw, violations) == pairs
    assert not violations


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=60))
def test_any_bytes_parse_to_pairs_or_violations(raw: bytes) -> None:
    violations = Violations()
    pairs = parse_pairs(raw, violations)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)
    assert all(v.description for v in violations.listed)
