"""query_binding: the query grammar (and form fields) into fields of the request message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.decoding import field_plans
from grpc_transcoder.decoding.field_binding import Binder, Origin
from grpc_transcoder.decoding.field_plans import PlanCache
from grpc_transcoder.decoding.query_string import parse_pairs
from grpc_transcoder.errors import FieldViolation, Violations
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry

KINDS = "library.v1.Kinds"


def bind(
    registry: Registry,
    query: str,
    *,
    message: str = KINDS,
    body: str = "",
    reject_unknown: bool = True,
    ignored: Iterable[str] = (),
    enum_case_insensitive: bool = False,
    path: Iterable[tuple[tuple[str, ...], str]] = (),
) -> tuple[Any, list[FieldViolation]]:
    """Bind path values, then `query`, to a new message as the request decoder does."""
    codec = JsonCodec(registry.pool, JsonOptions())
    plans = PlanCache(json=codec, enum_case_insensitive=enum_case_insensitive)
    target = registry.new_message(message)
    violations = Violations()
    binder = Binder(plans, target, violations, body=body, reject_unknown=reject_unknown)
    for names, value in path:
        binder.bind(".".join(names), names, value, origin=Origin.PATH, map_key=None)
    pairs = parse_pairs(query.encode(), violations)
    binder.bind_pairs(pairs, origin=Origin.QUERY, ignored=frozenset(ignored))
    return target, violations.listed


def as_json(registry: Registry, message: Any) -> Any:
    return JsonCodec(registry.pool, JsonOptions(omit_unpopulated=True)).encode(message)


# -- field paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("f_int32=1&f_string=a", {"fInt32": 1, "fString": "a"}, id="proto-names"),
        pytest.param("fInt32=1&fString=a", {"fInt32": 1, "fString": "a"}, id="json-names"),
        pytest.param("customJSONName=x", {"customJSONName": "x"}, id="custom-json-name"),
        pytest.param("custom_json=x", {"customJSONName": "x"}, id="custom-json-proto-name"),
        pytest.param("f_string=a+b%2Bc", {"fString": "a b+c"}, id="plus-and-encoded-plus"),
        pytest.param(
            "f_nested.label=a&fNested.count=2",
            {"fNested": {"label": "a", "count": 2}},
            id="nested",
        ),
        pytest.param(
            "f_nested.child.f_nested.label=deep",
            {"fNested": {"child": {"fNested": {"label": "deep"}}}},
            id="deeply-nested",
        ),
        pytest.param("opt_int32=0", {"optInt32": 0}, id="optional-zero-is-present"),
        pytest.param("f_int64=9223372036854775807", {"fInt64": "9223372036854775807"}, id="int64"),
        pytest.param(
            "f_double=NaN&f_float=-Infinity", {"fDouble": "NaN", "fFloat": "-Infinity"}, id="floats"
        ),
        pytest.param("f_enum=HIGH&f_genre=3", {"fEnum": "HIGH", "fGenre": "POETRY"}, id="enums"),
        pytest.param("f_bytes=-_8", {"fBytes": "+/8="}, id="bytes-url-safe"),
        pytest.param("c_nested.label=x", {"cNested": {"label": "x"}}, id="oneof-message"),
    ],
)
def test_fields_by_path(registry: Registry, query: str, expected: dict[str, Any]) -> None:
    message, violations = bind(registry, query)
    assert not violations
    assert as_json(registry, message) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "r_int64=1&r_int64=-2&r_string=a&r_string=b",
            {"rInt64": ["1", "-2"], "rString": ["a", "b"]},
            id="repeated-keys-append",
        ),
        pytest.param("r_string[]=a&r_string[]=b", {"rString": ["a", "b"]}, id="brackets-append"),
        pytest.param("r_enum=LOW&r_enum=2", {"rEnum": ["LOW", "HIGH"]}, id="repeated-enum"),
        pytest.param(
            "r_timestamp=2020-01-01T00:00:00Z&r_timestamp=2021-01-01T00:00:00Z",
            {"rTimestamp": ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"]},
            id="repeated-timestamp",
        ),
        pytest.param("r_int32_value=7", {"rInt32Value": [7]}, id="repeated-wrapper"),
        pytest.param(
            'r_value={"a":1}&r_value="x"', {"rValue": [{"a": 1}, "x"]}, id="repeated-value"
        ),
        pytest.param(
            "m_string[a]=1&m_string[b.c]=2&mString[d]=",
            {"mString": {"a": "1", "b.c": "2", "d": ""}},
            id="map-entries",
        ),
        pytest.param("m_int32[-5]=x", {"mInt32": {"-5": "x"}}, id="map-int-key"),
        pytest.param(
            "m_uint64[18446744073709551615]=x",
            {"mUint64": {"18446744073709551615": "x"}},
            id="map-uint64-key",
        ),
        pytest.param("m_bool[true]=x", {"mBool": {"true": "x"}}, id="map-bool-key"),
        pytest.param("m_enum[a]=HIGH", {"mEnum": {"a": "HIGH"}}, id="map-enum-value"),
        pytest.param("m_bytes[k]=YQ", {"mBytes": {"k": "YQ=="}}, id="map-bytes-value"),
        pytest.param('m_value[k]={"a":[1]}', {"mValue": {"k": {"a": [1]}}}, id="map-value-json"),
    ],
)
def test_repeated_and_map_fields(registry: Registry, query: str, expected: dict[str, Any]) -> None:
    message, violations = bind(registry, query)
    assert not violations
    assert as_json(registry, message) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "w_timestamp=2020-01-01T01:00:00%2B01:00",
            {"wTimestamp": "2020-01-01T00:00:00Z"},
            id="timestamp-with-offset",
        ),
        pytest.param(
            "w_timestamp=2020-01-01T01:00:00+01:00",
            {"wTimestamp": "2020-01-01T00:00:00Z"},
            id="timestamp-with-unencoded-plus",
        ),
        pytest.param("w_duration=1.5s", {"wDuration": "1.500s"}, id="duration"),
        pytest.param(
            "w_field_mask=title,pageCount", {"wFieldMask": "title,pageCount"}, id="field-mask"
        ),
        pytest.param(
            "w_int64_value=5&w_bool_value=false",
            {"wInt64Value": "5", "wBoolValue": False},
            id="wrappers",
        ),
        pytest.param('w_struct={"a":{"b":null}}', {"wStruct": {"a": {"b": None}}}, id="struct"),
        pytest.param("w_value=true", {"wValue": True}, id="value"),
        pytest.param("w_list_value=[1,2]", {"wListValue": [1, 2]}, id="list-value"),
        pytest.param(
            'w_any={"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"}',
            {"wAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"}},
            id="any",
        ),
        pytest.param("w_empty={}", {"wEmpty": {}}, id="empty"),
    ],
)
def test_well_known_types(registry: Registry, query: str, expected: dict[str, Any]) -> None:
    message, violations = bind(registry, query)
    assert not violations
    assert as_json(registry, message) == expected


# -- what is refused, and how it is named -----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "description"),
    [
        pytest.param(
            "f_int32=ten",
            "f_int32",
            "expected int32 (-2147483648 to 2147483647), got 'ten'",
            id="bad-integer",
        ),
        pytest.param(
            "f_uint64=-1",
            "f_uint64",
            "expected uint64 (0 to 18446744073709551615), got '-1' (out of range)",
            id="negative-unsigned",
        ),
        pytest.param(
            "f_int32=1&f_int32=2",
            "f_int32",
            "given more than once; f_int32 is a singular int32, not repeated",
            id="second-value",
        ),
        pytest.param(
            "f_enum=LOW&f_enum=HIGH",
            "f_enum",
            "given more than once; f_enum is a singular library.v1.Kinds.Level, not repeated",
            id="second-enum-value",
        ),
        pytest.param(
            "m_string[a]=1&m_string[a]=2",
            "m_string[a]",
            "given more than once; each key of m_string takes one value",
            id="second-value-for-a-map-key",
        ),
        pytest.param(
            "c_string=a&c_int64=1",
            "c_int64",
            "c_int64 and c_string are members of oneof choice; set only one of them",
            id="two-oneof-members",
        ),
        pytest.param(
            "c_string=a&c_nested.label=x",
            "c_nested.label",
            "c_nested and c_string are members of oneof choice; set only one of them",
            id="oneof-member-traversed",
        ),
        pytest.param(
            "nope=1",
            "nope",
            "unknown parameter: library.v1.Kinds has no field 'nope'",
            id="unknown",
        ),
        pytest.param(
            "f_nested.nope=1",
            "f_nested.nope",
            "unknown parameter: library.v1.Kinds.Nested has no field 'nope'",
            id="unknown-nested",
        ),
        pytest.param(
            "r_nested.label=x",
            "r_nested.label",
            "r_nested is a repeated library.v1.Kinds.Nested; '.' can only follow singular message fields",
            id="through-repeated",
        ),
        pytest.param(
            "m_string.a=x",
            "m_string.a",
            "m_string is a map<string, string>; '.' can only follow singular message fields",
            id="through-map",
        ),
        pytest.param(
            "f_int32.a=x",
            "f_int32.a",
            "f_int32 is an int32, not a message; '.' cannot follow it",
            id="through-scalar",
        ),
        pytest.param(
            "w_timestamp.seconds=1",
            "w_timestamp.seconds",
            "w_timestamp is a google.protobuf.Timestamp, given as one value; it has no fields to set",
            id="through-well-known-type",
        ),
        pytest.param(
            "f_nested=x",
            "f_nested",
            "f_nested is a library.v1.Kinds.Nested message; set its fields as f_nested.field=value",
            id="message-as-value",
        ),
        pytest.param(
            "r_nested=x",
            "r_nested",
            "r_nested (repeated library.v1.Kinds.Nested) cannot be set from a string; send it in a JSON body",
            id="repeated-message",
        ),
        pytest.param(
            "m_nested[a]=x",
            "m_nested[a]",
            "m_nested (map<string, library.v1.Kinds.Nested>) cannot be set from a string; send it in a JSON body",
            id="map-of-messages",
        ),
        pytest.param(
            "m_string=x",
            "m_string",
            "a map; set its entries as m_string[key]=value",
            id="map-without-key",
        ),
        pytest.param(
            "f_int32[a]=1",
            "f_int32[a]",
            "f_int32 is not a map; [key] selects map entries only",
            id="key-on-non-map",
        ),
        pytest.param(
            "m_int32[x]=y",
            "m_int32[x]",
            "map key: expected int32 (-2147483648 to 2147483647), got 'x'",
            id="bad-map-key",
        ),
        pytest.param(
            "w_timestamp=yesterday",
            "w_timestamp",
            "expected a Timestamp (RFC 3339, such as 2024-05-01T12:00:00Z), got 'yesterday'",
            id="bad-timestamp",
        ),
        pytest.param(
            "f_enum=low",
            "f_enum",
            "expected a library.v1.Kinds.Level (LEVEL_UNSPECIFIED, LOW, HIGH, or a number), got 'low'",
            id="enum-case",
        ),
    ],
)
def test_violations_name_parameter_type_and_value(
    registry: Registry, query: str, field: str, description: str
) -> None:
    _, violations = bind(registry, query)
    assert len(violations) == 1
    assert violations[0].field == field
    assert violations[0].description.startswith(description)


def test_every_violation_is_reported(registry: Registry) -> None:
    _, violations = bind(registry, "f_int32=x&nope=1&f_bool=yes&f_string=fine")
    assert [v.field for v in violations] == ["f_int32", "nope", "f_bool"]


def test_resolved_paths_are_cached_up_to_a_limit(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(field_plans, "MAX_CACHED_PATHS", 1)
    message, violations = bind(registry, "f_int32=1&f_string=a&f_bool=true&f_int64=2")
    assert not violations
    assert as_json(registry, message) == {
        "fInt32": 1,
        "fString": "a",
        "fBool": True,
        "fInt64": "2",
    }


def test_long_values_are_shortened_in_messages(registry: Registry) -> None:
    _, violations = bind(registry, "f_int32=" + "x" * 500)
    assert len(violations[0].description) < 150
    assert "xxx..." in violations[0].description


def test_unknown_parameters_can_be_ignored(registry: Registry) -> None:
    message, violations = bind(registry, "nope=1&f_nested.nope=2&f_int32=3", reject_unknown=False)
    assert not violations
    assert message.f_int32 == 3


def test_always_ignored_parameters(registry: Registry) -> None:
    message, violations = bind(registry, "api_key=s3cret&f_int32=3", ignored={"api_key"})
    assert not violations
    assert message.f_int32 == 3


def test_enum_names_in_any_case_when_asked(registry: Registry) -> None:
    message, violations = bind(registry, "f_enum=high&r_enum=Low", enum_case_insensitive=True)
    assert not violations
    assert (message.f_enum, list(message.r_enum)) == (2, [1])


# -- body and path -----------------------------------------------------------------------------


def test_body_star_leaves_no_query_parameters(registry: Registry) -> None:
    _, violations = bind(registry, "f_int32=1", body="*")
    assert violations == [
        FieldViolation(
            "f_int32",
            'read from the request body (the HTTP rule has body: "*"); it cannot be a query parameter',
        )
    ]


def test_the_body_field_is_not_a_query_parameter(registry: Registry) -> None:
    message, violations = bind(registry, "f_nested.label=x&f_int32=1", body="f_nested")
    assert violations == [
        FieldViolation(
            "f_nested.label",
            "inside the request body field 'f_nested'; it cannot be a query parameter",
        )
    ]
    assert message.f_int32 == 1


@pytest.mark.parametrize(
    ("query", "violation"),
    [
        pytest.param("f_string=mine", None, id="equal-value-accepted"),
        pytest.param("fString=mine", None, id="equal-value-by-json-name"),
        pytest.param(
            "f_string=other",
            FieldViolation(
                "f_string",
                "'mine' in the URL path but 'other' in the query string; the values must agree",
            ),
            id="contradiction-rejected",
        ),
    ],
)
def test_query_parameters_agree_with_the_path(
    registry: Registry, query: str, violation: FieldViolation | None
) -> None:
    message, violations = bind(registry, query, path=[(("f_string",), "mine")])
    assert violations == ([violation] if violation else [])
    assert message.f_string == "mine"


def test_well_known_values_must_agree_with_the_path(registry: Registry) -> None:
    path = [(("w_timestamp",), "2020-01-01T00:00:00Z")]
    _, same = bind(registry, "w_timestamp=2020-01-01T01:00:00%2B01:00", path=path)
    assert same == []
    _, violations = bind(registry, "w_timestamp=2021-01-01T00:00:00Z", path=path)
    assert violations[0].description.startswith(
        "google.protobuf.Timestamp('seconds: 1577836800') in the URL path but"
        " google.protobuf.Timestamp('seconds: 1609459200') in the query string"
    )


def test_path_values_are_typed(registry: Registry) -> None:
    message, violations = bind(
        registry,
        "",
        path=[
            (("f_nested", "count"), "12"),
            (("f_enum",), "HIGH"),
            (("w_timestamp",), "2020-01-01T00:00:00Z"),
        ],
    )
    assert not violations
    assert as_json(registry, message) == {
        "fNested": {"count": 12},
        "fEnum": "HIGH",
        "wTimestamp": "2020-01-01T00:00:00Z",
    }


def test_an_unknown_path_field_is_reported_even_when_unknown_parameters_are_ignored(
    registry: Registry,
) -> None:
    _, violations = bind(registry, "", path=[(("nope",), "x")], reject_unknown=False)
    assert [v.field for v in violations] == ["nope"]


def test_form_fields_then_path_must_agree(registry: Registry) -> None:
    codec = JsonCodec(registry.pool, JsonOptions())
    message = registry.new_message(KINDS)
    violations = Violations()
    binder = Binder(PlanCache(json=codec), message, violations, body="f_nested")
    binder.bind_pairs([("label", "a"), ("count", "1")], origin=Origin.BODY, prefix=("f_nested",))
    binder.bind("f_nested.label", ("f_nested", "label"), "a", origin=Origin.PATH, map_key=None)
    binder.bind("f_nested.count", ("f_nested", "count"), "2", origin=Origin.PATH, map_key=None)
    assert violations.listed == [
        FieldViolation(
            "f_nested.count", "1 in the request body but 2 in the URL path; the values must agree"
        )
    ]


# -- properties -------------------------------------------------------------------------------

_NAMES = st.sampled_from(
    ["f_int32", "fInt64", "f_double", "f_bool", "f_bytes", "f_enum", "f_nested", "f_nested.label",
     "f_nested.child.f_int32", "r_int64", "r_nested", "m_string[k]", "m_int32[1]", "m_nested[a]",
     "c_string", "c_int64", "w_timestamp", "w_duration", "w_struct", "w_any", "w_value", "nope",
     "f_int32[x]", "m_string", "", ".", "a..b", "r_string[]"]
)  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1", "-1", "true", "NaN", "HIGH", "{}", "[]", "null", "1.5s", '{"@type":1}']),
)


@settings(max_examples=400, deadline=None)
@given(pairs=st.lists(st.tuples(_NAMES | st.text(max_size=8), _VALUES), max_size=6))
def test_any_query_gives_a_message_or_violations(
    registry: Registry, pairs: list[tuple[str, str]]
) -> None:
    query = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs])
    message, violations = bind(registry, query)
    message.SerializeToString()  # whatever was set is a valid message
    assert all(isinstance(v.description, str) and v.description for v in violations)
