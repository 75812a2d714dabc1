"""query_string: raw queries from every event source, and the key=value grammar."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.errors import FieldViolation
from grpc_transcoder.query_string import ParameterKey, parse_key, parse_pairs, raw_query
from tests.event_builder import Source, build


@pytest.mark.parametrize(
    ("query", "event", "raw"),
    [
        pytest.param("a=%C3%A9&b=1", {}, b"a=%C3%A9&b=1", id="ascii"),
        pytest.param("a=\xc3\xa9", {}, b"a=\xc3\xa9", id="raw-utf8-as-latin-1"),
        pytest.param("a=\u2603", {}, "a=\u2603".encode(), id="text-beyond-latin-1"),
        pytest.param(
            "ignored",
            {"requestContext": {"elb": {}}, "queryStringParameters": {"a": "x%FF+y", "b": ""}},
            b"a=x%FF+y&b=",
            id="alb-values-as-sent",
        ),
        pytest.param(
            "ignored",
            {
                "requestContext": {"elb": {}},
                "multiValueQueryStringParameters": {"a": ["1", "2"], "m%5Bk%5D": ["v"]},
                "queryStringParameters": {"a": "2"},
            },
            b"a=1&a=2&m%5Bk%5D=v",
            id="alb-multi-value",
        ),
        pytest.param("", {"requestContext": {"elb": {}}}, b"", id="alb-no-query"),
    ],
)
def test_raw_query(query: str, event: dict[str, Any], raw: bytes) -> None:
    assert raw_query(query, event) == raw


@pytest.mark.parametrize("source", [Source.ALB, Source.ALB_MULTI_VALUE])
def test_alb_events_keep_what_the_client_sent(source: Source) -> None:
    event = build(source, "GET", "/v1/debug/ping", query=[("text", "a+b é")])
    violations: list[FieldViolation] = []
    assert parse_pairs(raw_query("", event), violations) == [("text", "a+b é")]


def test_a_value_that_is_not_utf8_is_named_even_behind_an_alb() -> None:
    event = build(Source.ALB, "GET", "/v1/debug/ping")
    event["queryStringParameters"] = {"text": "%FF"}
    violations: list[FieldViolation] = []
    assert parse_pairs(raw_query("text=%EF%BF%BD", event), violations) == []
    assert violations == [FieldViolation("text", "not valid UTF-8 after percent-decoding")]


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
    violations: list[FieldViolation] = []
    assert parse_pairs(raw, violations) == pairs
    assert violations == []


def test_invalid_utf8_is_a_violation_naming_the_key() -> None:
    violations: list[FieldViolation] = []
    assert parse_pairs(b"name=%FF%FE&ok=1", violations) == [("ok", "1")]
    assert violations == [FieldViolation("name", "not valid UTF-8 after percent-decoding")]


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
    violations: list[FieldViolation] = []
    assert parse_pairs(raw, violations) == pairs
    assert violations == []


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=60))
def test_any_bytes_parse_to_pairs_or_violations(raw: bytes) -> None:
    violations: list[FieldViolation] = []
    pairs = parse_pairs(raw, violations)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)
    assert all(v.description for v in violations)
