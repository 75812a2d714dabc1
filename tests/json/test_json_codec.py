"""The JSON codec on chosen edge cases, each checked against protobuf's json_format too.

Decoding: json_format's leniencies are accepted, everything it rejects is rejected with a
violation naming the full field path, the expected type and the value, all problems at once.
Encoding: every field kind, option and well-known type prints as json_format prints it, and
what json_format cannot print raises JsonEncodeError naming the field.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from grpc_transcoder.errors import RequestError
from grpc_transcoder.json import scalars as json_scalars
from grpc_transcoder.json.codec import JsonCodec, JsonEncodeError, JsonOptions
from grpc_transcoder.json.decode.messages import Decoders
from grpc_transcoder.json.problems import MAX_DEPTH, Invalid
from grpc_transcoder.json.wellknown import TypeUrls
from grpc_transcoder.loading.registry import Registry

KINDS = "library.v1.Kinds"
TYPE_URL = "type.googleapis.com/"
FLOAT32_MAX = float.fromhex("0x1.fffffep+127")


@pytest.fixture(scope="module")
def codec(registry: Registry) -> JsonCodec:
    return JsonCodec(registry.pool, JsonOptions())


def kinds(registry: Registry, **fields: Any) -> Any:
    message: Any = registry.new_message(KINDS)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        elif isinstance(value, Message):
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def decoded(codec: JsonCodec, registry: Registry, body: Any, name: str = KINDS) -> Any:
    message = registry.new_message(name)
    codec.decode(body, message)
    return message


def json_format_parsed(registry: Registry, body: Any, name: str = KINDS, **options: Any) -> Any:
    message = registry.new_message(name)
    json_format.ParseDict(body, message, descriptor_pool=registry.pool, **options)
    return message


def violations(codec: JsonCodec, registry: Registry, body: Any, **kwargs: Any) -> RequestError:
    message = registry.new_message(kwargs.pop("name", KINDS))
    with pytest.raises(RequestError) as raised:
        codec.decode(body, message, **kwargs)
    return raised.value


# -- decoding: what json_format accepts ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        pytest.param({"fInt32": "1e3"}, "f_int32", 1000, id="int-exponent-string"),
        pytest.param({"fInt32": 7.0}, "f_int32", 7, id="int-integral-float"),
        pytest.param({"fInt32": "\t7"}, "f_int32", 7, id="int-tab-padded"),
        pytest.param({"f_int32": -3}, "f_int32", -3, id="proto-name-key"),
        pytest.param({"fInt64": "-9223372036854775808"}, "f_int64", -(2**63), id="int64-min"),
        pytest.param({"fUint64": 18446744073709551615}, "f_uint64", 2**64 - 1, id="uint64-max"),
        pytest.param({"fUint64": "18446744073709551615"}, "f_uint64", 2**64 - 1, id="uint64-str"),
        pytest.param({"fSint64": "-5"}, "f_sint64", -5, id="sint64-string"),
        pytest.param({"fDouble": "Infinity"}, "f_double", math.inf, id="double-infinity"),
        pytest.param({"fDouble": "-Infinity"}, "f_double", -math.inf, id="double-minus-inf"),
        pytest.param({"fDouble": "1_0"}, "f_double", 10.0, id="double-underscore"),
        pytest.param({"fDouble": 2**70}, "f_double", float(2**70), id="double-big-int"),
        pytest.param({"fFloat": "1e39"}, "f_float", math.inf, id="float-string-overflows"),
        pytest.param({"fBool": False}, "f_bool", False, id="bool"),
        pytest.param({"fString": "héllo ☃"}, "f_string", "héllo ☃", id="string-unicode"),
        pytest.param({"fBytes": "AQI"}, "f_bytes", b"\x01\x02", id="bytes-unpadded"),
        pytest.param({"fBytes": "-_-_"}, "f_bytes", b"\xfb\xff\xbf", id="bytes-url-safe"),
        pytest.param({"fBytes": "+/+/"}, "f_bytes", b"\xfb\xff\xbf", id="bytes-standard"),
        pytest.param({"fEnum": "HIGH"}, "f_enum", 2, id="enum-name"),
        pytest.param({"fEnum": 7}, "f_enum", 7, id="enum-unknown-number"),
        pytest.param({"fEnum": "1"}, "f_enum", 1, id="enum-number-string"),
        pytest.param({"fEnum": 1.5}, "f_enum", 1, id="enum-float-truncated"),
        pytest.param({"wNull": None}, "w_null", 0, id="null-value-null"),
        pytest.param({"wNull": "NULL_VALUE"}, "w_null", 0, id="null-value-name"),
        pytest.param({"customJSONName": "x"}, "custom_json", "x", id="custom-json-name"),
        pytest.param({"custom_json": "y"}, "custom_json", "y", id="custom-json-proto-name"),
        pytest.param({"cString": None, "cInt64": "5"}, "c_int64", 5, id="oneof-null-first"),
    ],
)
def test_decode_accepts_what_json_format_accepts(
    codec: JsonCodec, registry: Registry, body: dict[str, Any], field: str, expected: Any
) -> None:
    ours = decoded(codec, registry, body)
    assert getattr(ours, field) == expected
    assert ours == json_format_parsed(registry, body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"wValue": None}, id="value-null"),
        pytest.param({"wValue": "héllo"}, id="value-unicode-string"),
        pytest.param({"wValue": 2**60}, id="value-big-int"),
        pytest.param({"mBool": {"false": "f", "true": "t"}}, id="bool-keys"),
        pytest.param({"mValue": {"k": None}}, id="map-value-null"),
        pytest.param({"rValue": [None, [], {}]}, id="repeated-value-null-element"),
    ],
)
def test_decode_reads_values_as_json_format_does(
    codec: JsonCodec, registry: Registry, body: dict[str, Any]
) -> None:
    assert decoded(codec, registry, body) == json_format_parsed(registry, body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"fNested": {}}, id="empty-object"),
        pytest.param({"fNested": []}, id="empty-list-as-object"),
        pytest.param({"fNested": ""}, id="empty-string-as-object"),
        pytest.param({"wAny": {}}, id="empty-any"),
        pytest.param({"wStruct": {}}, id="empty-struct"),
        pytest.param({"wValue": []}, id="empty-list-value"),
        pytest.param({"wEmpty": {}}, id="empty"),
    ],
)
def test_an_empty_json_value_sets_the_message_field(
    codec: JsonCodec, registry: Registry, body: dict[str, Any]
) -> None:
    ours = decoded(codec, registry, body)
    (name,) = [field.name for field, _ in ours.ListFields()]
    assert ours.HasField(name)
    assert ours == json_format_parsed(registry, body)


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        pytest.param({"fInt32": " 1"}, "fInt32", 'expected an int32, got " 1"', id="int-space"),
        pytest.param({"fInt32": 2**31}, "fInt32", "out of range", id="int32-overflow"),
        pytest.param({"fInt32": 1.5}, "fInt32", "not an integer", id="int-fraction"),
        pytest.param({"fInt32": True}, "fInt32", "got true", id="int-from-bool"),
        pytest.param({"fUint32": -1}, "fUint32", "out of range", id="uint-negative"),
        pytest.param({"fInt64": "9223372036854775808"}, "fInt64", "out of range", id="int64-max+1"),
        pytest.param({"fInt64": "0x10"}, "fInt64", 'got "0x10"', id="int-hex"),
        pytest.param({"fDouble": "nan"}, "fDouble", 'write "NaN"', id="double-lower-nan"),
        pytest.param({"fDouble": [1]}, "fDouble", "expected a double", id="double-list"),
        pytest.param({"fFloat": 1e39}, "fFloat", "out of range", id="float-too-large"),
        pytest.param({"fBool": "true"}, "fBool", "expected a boolean", id="bool-string"),
        pytest.param({"fString": 5}, "fString", "expected a string, got 5", id="string-number"),
        pytest.param({"fString": "\ud800"}, "fString", "unpaired surrogate", id="surrogate"),
        pytest.param({"fString": "\ud83d\ude00"}, "fString", "a string", id="surrogate-pair"),
        pytest.param({"mString": {"k": "\ud83d\ude00"}}, 'mString["k"]', "UTF-8", id="map-utf8"),
        pytest.param({"fBytes": "A"}, "fBytes", "base64", id="bytes-one-char"),
        pytest.param({"fEnum": "low"}, "fEnum", "library.v1.Kinds.Level", id="enum-lowercase"),
        pytest.param({"fEnum": 2**31}, "fEnum", "out of range", id="enum-overflow"),
        pytest.param({"rInt64": [1, None]}, "rInt64[1]", "got null", id="repeated-null-element"),
        pytest.param({"rInt64": 5}, "rInt64", "expected a JSON array", id="repeated-not-list"),
        pytest.param({"rNested": {}}, "rNested", "expected a JSON array", id="messages-not-list"),
        pytest.param({"rNested": [{}, None]}, "rNested[1]", "null is not allowed", id="null-msg"),
        pytest.param({"rValue": None}, "rValue", "null is not allowed", id="repeated-value-null"),
        pytest.param({"mInt32": {"x": "a"}}, 'mInt32["x"]', "expected an int32", id="map-key"),
        pytest.param({"mBool": {"True": "a"}}, 'mBool["True"]', '"true" or "false"', id="bool-key"),
        pytest.param({"mEnum": {"k": "NOPE"}}, 'mEnum["k"]', '"NOPE"', id="map-enum-value"),
        pytest.param({"mString": []}, "mString", "map with string keys", id="map-not-object"),
        pytest.param(
            {"mNested": {"k": {"count": "x"}}}, 'mNested["k"].count', "int32", id="map-message"
        ),
        pytest.param(
            {"fNested": {"child": {"fInt32": "x"}}}, "fNested.child.fInt32", "int32", id="deep"
        ),
        pytest.param({"fNested": 5}, "fNested", "a JSON object (library.v1.Kinds.Nested)", id="5"),
        pytest.param({"fNested": "abc"}, "fNested", "a JSON object", id="string-as-object"),
        pytest.param({"wTimestamp": "2021-02-29T00:00:00Z"}, "wTimestamp", "RFC 3339", id="ts"),
        pytest.param({"wTimestamp": 0}, "wTimestamp", "got 0", id="timestamp-number"),
        pytest.param({"wDuration": "1.9999999999s"}, "wDuration", "fraction", id="duration"),
        pytest.param({"wDuration": "3"}, "wDuration", "ending in 's'", id="duration-no-unit"),
        pytest.param({"wFieldMask": "f_string"}, "wFieldMask", "field mask", id="field-mask"),
        pytest.param({"wStruct": []}, "wStruct", "expected a JSON object", id="struct-list"),
        pytest.param({"wListValue": {}}, "wListValue", "expected a JSON array", id="list-object"),
        pytest.param({"wValue": 2**1100}, "wValue", "not representable", id="value-huge-int"),
        pytest.param({"wInt32Value": "x"}, "wInt32Value", "int32", id="wrapper"),
        pytest.param({"wAny": {"@type": "x/no.Type"}}, "wAny.@type", "unknown type", id="any"),
        pytest.param({"wAny": {"@type": 5}}, "wAny.@type", "type URL string", id="any-type-int"),
        pytest.param({"wAny": {"label": "x"}}, "wAny", '"@type" is missing', id="any-no-type"),
        pytest.param({"wAny": []}, "wAny", '"@type"', id="any-list"),
        pytest.param(
            {"wAny": {"@type": TYPE_URL + "google.protobuf.Int32Value"}},
            "wAny",
            '"value" is missing',
            id="any-wrapper-without-value",
        ),
        pytest.param(
            {"wAny": {"@type": TYPE_URL + "google.protobuf.Int32Value", "value": "x"}},
            "wAny.value",
            "int32",
            id="any-wrapper-bad-value",
        ),
        pytest.param(
            {"wAny": {"@type": TYPE_URL + "library.v1.Kinds.Nested", "count": "x"}},
            "wAny.count",
            "int32",
            id="any-inline-field",
        ),
        pytest.param(
            {"wStruct": {"a": [1, {"b": 2**1100}]}},
            'wStruct["a"][1]["b"]',
            "not representable",
            id="struct-nested",
        ),
        pytest.param({"fstring": "x"}, "fstring", 'did you mean "fString"', id="unknown-hint"),
        pytest.param({"[ext.x]": 1}, "[ext.x]", "has no extensions", id="extension-key"),
        pytest.param({"cString": "a", "cInt64": "1"}, "cInt64", "oneof", id="two-oneof-fields"),
        pytest.param(
            {"optInt32": 1, "opt_int32": 2}, "opt_int32", "given twice", id="both-spellings"
        ),
        pytest.param({"fInt32": "1.5"}, "fInt32", "not an integer", id="int-fraction-string"),
        pytest.param({"rEnum": ["LOW", None]}, "rEnum[1]", "got null", id="enum-null-element"),
        pytest.param({"fEnum": math.inf}, "fEnum", "Level name or number", id="enum-infinity"),
        pytest.param(
            {"rString": ["a", "\ud83d\ude00"]}, "rString[1]", "a string", id="string-utf8-element"
        ),
        pytest.param({"fDouble": math.nan}, "fDouble", '"NaN"', id="double-python-nan"),
        pytest.param({"wDuration": " -1.5s"}, "wDuration", "different signs", id="duration-signs"),
        pytest.param({"wStringValue": "\ud83d\ude00"}, "wStringValue", "string", id="wrapper-utf8"),
        pytest.param({"wStruct": {5: 1}}, "wStruct[5]", "keys must be strings", id="struct-key"),
        pytest.param({"wValue": b"x"}, "wValue", "a JSON value", id="value-of-bytes"),
        pytest.param(
            {"mNested": {"\ud83d\ude00": {}}},
            r'mNested["\ud83d\ude00"]',
            "UTF-8",
            id="map-key-utf8",
        ),
        pytest.param({5: 1}, "[5]", "field names must be strings", id="non-string-key"),
        pytest.param(5, "", "a JSON object (library.v1.Kinds)", id="top-level-number"),
        pytest.param(None, "", "got null", id="top-level-null"),
    ],
)
def test_decode_rejects_what_json_format_rejects_naming_the_field(
    codec: JsonCodec, registry: Registry, body: Any, path: str, fragment: str
) -> None:
    error = violations(codec, registry, body)
    assert [v.field for v in error.violations] == [path]
    assert fragment in error.violations[0].description
    assert error.status == 400
    assert error.details[0]["fieldViolations"] == [
        {"field": path, "description": error.violations[0].description}
    ]
    with pytest.raises(Exception):  # noqa: B017, PT011 - json_format raises various types
        json_format_parsed(registry, body)


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        pytest.param({"fDouble": True}, "fDouble", "expected a double", id="double-from-true"),
        pytest.param({"fFloat": False}, "fFloat", "expected a float", id="float-from-false"),
        pytest.param({"fEnum": True}, "fEnum", "Level name or number", id="enum-from-true"),
        pytest.param({"rEnum": [True]}, "rEnum[0]", "Level name or number", id="enum-element"),
        pytest.param({"rDouble": [False]}, "rDouble[0]", "double", id="double-element"),
        pytest.param({"wDoubleValue": True}, "wDoubleValue", "double", id="double-wrapper"),
        pytest.param(
            {"fNested": {"label": "a"}, "f_nested": {"count": 1}},
            "f_nested",
            "given twice",
            id="message-by-both-names",
        ),
        pytest.param({"fInt32": 1, "f_int32": 1}, "f_int32", "given twice", id="scalar-by-both-names"),
        pytest.param({"f_int32": 1, "fInt32": 1}, "f_int32", "given twice", id="proto-name-first"),
    ],
)  # fmt: skip
def test_decode_rejects_what_protobufs_cpp_and_go_parsers_reject(
    codec: JsonCodec, registry: Registry, body: Any, path: str, fragment: str
) -> None:
    """Python's json_format accepts these; the parsers behind Envoy (C++) and grpc-gateway
    (Go) refuse them, and so does the transcoder."""
    error = violations(codec, registry, body)
    assert [v.field for v in error.violations] == [path]
    assert fragment in error.violations[0].description
    json_format_parsed(registry, body)  # accepted there: the divergence is deliberate


def test_decode_reports_every_problem_at_once(codec: JsonCodec, registry: Registry) -> None:
    body = {"fInt32": "x", "fNested": {"count": "y", "label": 5}, "rBool": [1, True, "z"]}
    error = violations(codec, registry, body, field_path="kinds")
    assert [v.field for v in error.violations] == [
        "kinds.fInt32",
        "kinds.fNested.count",
        "kinds.fNested.label",
        "kinds.rBool[0]",
        "kinds.rBool[2]",
    ]
    assert error.message.startswith(
        "invalid JSON for library.v1.Kinds: 5 problems: kinds.fInt32: expected"
    )
    assert error.message.endswith("; and 2 more (see details)")


def test_an_error_on_a_bare_value_names_the_given_field_path(
    codec: JsonCodec, registry: Registry
) -> None:
    error = violations(codec, registry, "soon", name="google.protobuf.Timestamp", field_path="t")
    assert [v.field for v in error.violations] == ["t"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"unknown": 1, "fInt32": 3}, id="unknown-key"),
        pytest.param({"fEnum": "NOPE", "fInt32": 3}, id="unknown-enum-name"),
        pytest.param({"rEnum": ["LOW", "NOPE"], "fInt32": 3}, id="unknown-in-list"),
        pytest.param({"mEnum": {"a": "NOPE", "b": "LOW"}, "fInt32": 3}, id="unknown-in-map"),
        pytest.param({"fNested": "abc", "fInt32": 3}, id="string-iterated-as-keys"),
    ],
)
def test_ignore_unknown_fields_drops_unknown_keys_and_enum_names(
    registry: Registry, body: dict[str, Any]
) -> None:
    codec = JsonCodec(registry.pool, JsonOptions(ignore_unknown_fields=True))
    ours = decoded(codec, registry, body)
    assert ours.f_int32 == 3
    assert ours == json_format_parsed(registry, body, ignore_unknown_fields=True)


def test_ignore_unknown_fields_still_rejects_extension_keys_and_bad_values(
    registry: Registry,
) -> None:
    codec = JsonCodec(registry.pool, JsonOptions(ignore_unknown_fields=True))
    error = violations(codec, registry, {"[a.b]": 1, "fEnum": [], "fInt32": "x"})
    assert [v.field for v in error.violations] == ["[a.b]", "fEnum", "fInt32"]


def test_decode_merges_like_json_format(codec: JsonCodec, registry: Registry) -> None:
    """Singular fields and messages merge; repeated fields and maps are replaced."""
    first = {"fInt32": 1, "fNested": {"label": "a"}, "rString": ["x"], "mString": {"k": "v"}}
    second = {"fNested": {"count": 2}, "rString": ["y"], "mString": {"j": "w"}}
    ours = decoded(codec, registry, first)
    codec.decode(second, ours)
    theirs = json_format_parsed(registry, first)
    json_format.ParseDict(second, theirs, descriptor_pool=registry.pool)
    assert ours == theirs
    assert (ours.f_nested.label, ours.f_nested.count, list(ours.r_string)) == ("a", 2, ["y"])


def _nested_kinds(levels: int) -> dict[str, Any]:
    body: dict[str, Any] = {"fInt32": 1}
    for _ in range(levels):
        body = {"fNested": {"child": body}}
    return body


def _nested_values(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return {"wValue": value}


@pytest.mark.parametrize(
    "make", [pytest.param(_nested_kinds, id="messages"), pytest.param(_nested_values, id="values")]
)
def test_nesting_is_limited_where_json_format_limits_it(
    codec: JsonCodec, registry: Registry, make: Any
) -> None:
    outcomes = []
    for levels in range(40, 60):
        body = make(levels)
        try:
            json_format_parsed(registry, body)
            theirs = True
        except json_format.ParseError:
            theirs = False
        try:
            decoded(codec, registry, body)
            ours = "ok"
        except RequestError as exc:
            ours = exc.message
        outcomes.append((levels, ours == "ok", theirs))
        assert ours == "ok" or "nested more than 100 messages deep" in ours
    assert all(ours == theirs for _, ours, theirs in outcomes), outcomes
    assert {ours for _, ours, _ in outcomes} == {True, False}  # the limit is inside the range


@pytest.mark.parametrize(
    ("name", "body"),
    [
        pytest.param("google.protobuf.Timestamp", "2024-02-29T12:00:00.5+01:00", id="timestamp"),
        pytest.param("google.protobuf.Duration", "-1.5s", id="duration"),
        pytest.param("google.protobuf.FieldMask", "title,author.displayName", id="field-mask"),
        pytest.param("google.protobuf.Struct", {"a": [1, None, {"b": True}]}, id="struct"),
        pytest.param("google.protobuf.Value", "text", id="value"),
        pytest.param("google.protobuf.ListValue", [1, "a", None], id="list-value"),
        pytest.param("google.protobuf.Int64Value", "-5", id="wrapper"),
        pytest.param("google.protobuf.BytesValue", "AQID", id="bytes-wrapper"),
        pytest.param("google.protobuf.Empty", {}, id="empty"),
        pytest.param(
            "google.protobuf.Any",
            {"@type": TYPE_URL + "google.protobuf.Duration", "value": "2s"},
            id="any-of-duration",
        ),
        pytest.param(
            "google.protobuf.Any",
            {
                "@type": TYPE_URL + "google.protobuf.Any",
                "value": {"@type": TYPE_URL + "library.v1.Kinds.Nested", "label": "x"},
            },
            id="any-of-any",
        ),
        pytest.param(
            "google.protobuf.Any", {"@type": TYPE_URL + "google.protobuf.Empty"}, id="any-empty"
        ),
    ],
)
def test_well_known_messages_take_their_json_forms(
    codec: JsonCodec, registry: Registry, name: str, body: Any
) -> None:
    ours = decoded(codec, registry, body, name)
    assert ours == json_format_parsed(registry, body, name)
    assert codec.encode(ours) == json_format.MessageToDict(
        ours, always_print_fields_with_no_presence=True, descriptor_pool=registry.pool
    )


def test_extendable_types_are_decoded_and_encoded_by_json_format(
    codec: JsonCodec, registry: Registry
) -> None:
    name = "google.protobuf.FieldOptions"  # proto2, with extension ranges
    ours = decoded(codec, registry, {"deprecated": True, "retention": 1}, name)
    assert ours.deprecated is True
    assert codec.encode(ours) == json_format.MessageToDict(
        ours, always_print_fields_with_no_presence=True, descriptor_pool=registry.pool
    )
    assert codec.encode(ours)["retention"] == "RETENTION_RUNTIME"
    error = violations(codec, registry, {"deprecated": "yes"}, name=name)
    assert "deprecated" in error.violations[0].description
    error = violations(codec, registry, 5, name=name)
    assert error.violations[0].description.startswith("TypeError: ")


def test_an_any_can_hold_an_extendable_type(codec: JsonCodec, registry: Registry) -> None:
    body = {"@type": TYPE_URL + "google.protobuf.FieldOptions", "deprecated": True}
    ours = decoded(codec, registry, body, "google.protobuf.Any")
    assert ours == json_format_parsed(registry, body, "google.protobuf.Any")
    assert codec.encode(ours)["deprecated"] is True


@pytest.mark.parametrize(
    "name",
    [
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.Struct",
        "google.protobuf.ListValue",
        "google.protobuf.Value",
        "google.protobuf.Any",
        "google.protobuf.BoolValue",
        "library.v1.Kinds",
    ],
)
def test_every_message_decoder_refuses_to_go_deeper_than_the_limit(
    registry: Registry, name: str
) -> None:
    decoders = Decoders(registry.pool, ignore_unknown=False, types=TypeUrls(registry.pool))
    decode = decoders.for_type(registry.pool.FindMessageTypeByName(name))
    with pytest.raises(Invalid) as raised:
        decode(registry.new_message(name), {}, MAX_DEPTH + 1)
    assert raised.value.problems == [("", "nested more than 100 messages deep")]


def test_a_closed_enum_rejects_unknown_numbers(codec: JsonCodec, registry: Registry) -> None:
    name = "google.protobuf.FieldDescriptorProto"  # proto2: its enums are closed
    assert decoded(codec, registry, {"type": "TYPE_INT64"}, name).type == 3
    error = violations(codec, registry, {"type": 99}, name=name)
    assert "closed enum" in error.violations[0].description
    with pytest.raises(json_format.ParseError):
        json_format_parsed(registry, {"type": 99}, name)


# -- encoding ------------------------------------------------------------------------------


def _new(registry: Registry, name: str) -> Any:
    return registry.new_message(name)  # dynamic messages: fields are found at run time


def _edge_messages(registry: Registry) -> dict[str, Message]:
    nested = _new(registry, "library.v1.Kinds.Nested")
    nested.label, nested.child.f_nested.label = "outer", "inner"
    any_nested, any_ts, any_any, any_int, any_empty, any_struct = (
        _new(registry, "google.protobuf.Any") for _ in range(6)
    )
    any_nested.Pack(nested)
    timestamp = _new(registry, "google.protobuf.Timestamp")
    timestamp.FromNanoseconds(-1)
    any_ts.Pack(timestamp)
    any_any.Pack(any_nested)
    wrapped = _new(registry, "google.protobuf.Int64Value")
    wrapped.value = -(2**63)
    any_int.Pack(wrapped)
    any_empty.Pack(registry.new_message("google.protobuf.Empty"))
    struct: Any = registry.new_message("google.protobuf.Struct")
    struct.update({"k": [1.5, None, {"x": "y"}]})
    any_struct.Pack(struct)
    edges: dict[str, Any] = {
        "empty": kinds(registry),
        "non-finite": kinds(registry, f_double=math.nan, f_float=-math.inf, r_double=[math.inf]),
        "negative-zero": kinds(registry, f_double=-0.0, f_float=-0.0),
        "float-extremes": kinds(registry, f_float=FLOAT32_MAX, r_float=[1e-45, 0.1, 1 / 3]),
        "int-extremes": kinds(
            registry, f_int64=-(2**63), f_uint64=2**64 - 1, f_sfixed64=2**63 - 1, f_int32=-(2**31)
        ),
        "unknown-enums": kinds(registry, f_enum=7, r_enum=[0, 9], f_genre=-1),
        "optional-zero": kinds(registry, opt_int32=0, opt_string="", opt_enum=0),
        "oneof-nested": kinds(registry, c_nested=nested),
        "custom-json-name": kinds(registry, custom_json="c"),
        "bytes": kinds(registry, f_bytes=b"\x00\xfb\xff", r_bytes=[b"", b"\xff"]),
    }
    maps = kinds(registry)
    maps.m_bool[True], maps.m_bool[False] = "t", "f"
    maps.m_int64[-(2**63)], maps.m_uint64[2**64 - 1] = "min", "max"
    maps.m_sint32[-1], maps.m_fixed32[7], maps.m_sfixed64[-2] = "a", "b", "c"
    maps.m_enum["x"], maps.m_bytes["y"], maps.m_double["z"] = 5, b"\x01", math.nan
    maps.m_nested["n"].CopyFrom(nested)
    maps.m_value["v"].string_value = "s"
    edges["maps"] = maps
    times = kinds(registry)
    times.w_timestamp.seconds, times.w_timestamp.nanos = -62135596800, 999_999_999
    times.r_timestamp.add(seconds=253402300799, nanos=1000)
    times.r_timestamp.add(seconds=1, nanos=1_000_000)
    times.w_duration.seconds, times.w_duration.nanos = -315576000000, -1
    times.r_duration.add(seconds=0, nanos=-500_000_000)
    times.r_duration.add(seconds=3, nanos=1000)
    times.w_field_mask.paths.extend(["f_string", "a.b_c_d", "_x"])
    edges["times"] = times
    wkt = kinds(registry)
    wkt.w_struct.CopyFrom(struct)
    wkt.w_value.null_value = 0
    wkt.w_list_value.extend([True, "s", 2.0])
    wkt.w_any.CopyFrom(any_nested)
    wkt.r_any.extend([any_ts, any_any, any_int, any_empty, any_struct])
    wkt.r_value.add()  # a Value with nothing set prints null
    wkt.w_empty.SetInParent()
    wkt.w_null = 0
    wkt.w_float_value.value = 0.1
    wkt.w_uint64_value.value = 2**64 - 1
    wkt.w_bytes_value.value = b"\xff"
    wkt.w_bool_value.SetInParent()
    wkt.r_int32_value.add(value=-1)
    edges["well-known"] = wkt
    return edges


ALL_OPTIONS = [
    pytest.param(JsonOptions(), id="defaults"),
    pytest.param(JsonOptions(use_proto_names=True), id="proto-names"),
    pytest.param(JsonOptions(omit_unpopulated=True), id="omit-unpopulated"),
    pytest.param(JsonOptions(enums_as_ints=True), id="enums-as-ints"),
    pytest.param(JsonOptions(True, True, True, True), id="all"),
]
EDGES = [
    "empty",
    "non-finite",
    "negative-zero",
    "float-extremes",
    "int-extremes",
    "unknown-enums",
    "optional-zero",
    "oneof-nested",
    "custom-json-name",
    "bytes",
    "maps",
    "times",
    "well-known",
]


@pytest.mark.parametrize("options", ALL_OPTIONS)
@pytest.mark.parametrize("edge", EDGES)
def test_encode_prints_what_json_format_prints(
    registry: Registry, options: JsonOptions, edge: str
) -> None:
    message = _edge_messages(registry)[edge]
    expected = json_format.MessageToDict(
        message,
        always_print_fields_with_no_presence=not options.omit_unpopulated,
        preserving_proto_field_name=options.use_proto_names,
        use_integers_for_enums=options.enums_as_ints,
        descriptor_pool=registry.pool,
    )
    codec = JsonCodec(registry.pool, options)
    assert codec.encode(message) == expected
    assert orjson.loads(codec.dumps(message)) == orjson.loads(orjson.dumps(expected))


def test_recursive_types_print_at_any_depth(codec: JsonCodec, registry: Registry) -> None:
    message = kinds(registry)
    message.f_nested.child.f_nested.child.f_nested.child.f_int32 = 5
    printed = codec.encode(message)
    assert printed["fNested"]["child"]["fNested"]["child"]["fNested"]["child"]["fInt32"] == 5
    assert printed == json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True, descriptor_pool=registry.pool
    )


def _unknown_any(registry: Registry) -> Any:
    message = kinds(registry)
    message.r_any.add()
    message.r_any.add(type_url=TYPE_URL + "no.such.Type", value=b"\x08\x01")
    return message


def _nan_in_struct(registry: Registry) -> Any:
    message = kinds(registry)
    message.m_nested["k"].child.w_struct.update({"a": [1, math.nan]})
    return message


def _corrupt_any(registry: Registry) -> Any:
    message = kinds(registry)
    message.w_any.type_url = TYPE_URL + "library.v1.Kinds"
    message.w_any.value = b"\xff\xff"
    return message


def _late_timestamp(registry: Registry) -> Any:
    message = kinds(registry)
    message.c_timestamp.seconds = 253402300800
    return message


def _mixed_duration(registry: Registry) -> Any:
    message = kinds(registry)
    message.w_duration.seconds, message.w_duration.nanos = 1, -1
    return message


def _bad_mask(registry: Registry) -> Any:
    message = kinds(registry)
    message.f_nested.child.w_field_mask.paths.append("a__b")
    return message


@pytest.mark.parametrize(
    ("make", "path", "type_url"),
    [
        pytest.param(_unknown_any, "r_any[1]", TYPE_URL + "no.such.Type", id="unknown-any-type"),
        pytest.param(_nan_in_struct, 'm_nested["k"].child.w_struct["a"][1]', "", id="nan-value"),
        pytest.param(_corrupt_any, "w_any", "", id="corrupt-any"),
        pytest.param(_late_timestamp, "c_timestamp", "", id="timestamp-past-9999"),
        pytest.param(_mixed_duration, "w_duration", "", id="duration-sign-mismatch"),
        pytest.param(_bad_mask, "f_nested.child.w_field_mask", "", id="field-mask-path"),
    ],
)
def test_what_json_format_cannot_print_raises_naming_the_field(
    codec: JsonCodec, registry: Registry, make: Any, path: str, type_url: str
) -> None:
    message = make(registry)
    with pytest.raises(JsonEncodeError) as raised:
        codec.encode(message)
    error = raised.value
    assert (error.field_path, error.type_url, error.status) == (path, type_url, 500)
    assert error.message.startswith(f"cannot print library.v1.Kinds as JSON at {path}: ")
    with pytest.raises(Exception):  # noqa: B017, PT011 - json_format fails in several ways
        json_format.MessageToDict(message, descriptor_pool=registry.pool)


def test_an_any_of_an_unknown_type_is_a_catchable_error_on_its_own(
    codec: JsonCodec, registry: Registry
) -> None:
    detail: Any = registry.new_message("google.protobuf.Any")
    detail.type_url, detail.value = "type.example.com/acme.Quota", b"\x08\x01"
    with pytest.raises(JsonEncodeError) as raised:
        codec.encode(detail)
    assert (raised.value.field_path, raised.value.type_url) == ("", detail.type_url)
    assert "acme.Quota" in raised.value.message


def test_encode_field_prints_one_field(codec: JsonCodec, registry: Registry) -> None:
    message = kinds(registry, f_int64=5)
    fields = message.DESCRIPTOR.fields_by_name
    assert codec.encode_field(message, fields["f_int64"]) == "5"
    assert codec.encode_field(message, fields["f_int64"]) == "5"  # compiled once, then reused
    assert codec.encode_field(message, fields["r_string"]) == []
    assert codec.encode_field(message, fields["f_nested"]) is None
    message.w_struct.update({"a": math.inf})
    with pytest.raises(JsonEncodeError):
        codec.encode_field(message, fields["w_struct"])


def test_a_closed_enum_number_without_a_name_cannot_print(registry: Registry) -> None:
    closed = registry.pool.FindEnumTypeByName("google.protobuf.FieldDescriptorProto.Type")
    printer = json_scalars.enum_printer(closed)
    assert printer(3) == "TYPE_INT64"
    with pytest.raises(ValueError, match="closed enum"):
        printer(99)


def test_the_codec_keeps_its_options(codec: JsonCodec) -> None:
    assert codec.options == JsonOptions()


def test_dumps_is_compact_utf8_json(codec: JsonCodec, registry: Registry) -> None:
    message = kinds(registry, f_string="é", f_int64=1)
    text = codec.dumps(message)
    assert b'"fString":"\xc3\xa9"' in text
    assert orjson.loads(text) == codec.encode(message)


def _custom_enum_pool() -> Any:
    """A pool whose enum value RED has the JSON name "red-ish" (the pb.enumvalue.json option)."""
    from google.protobuf import descriptor_pb2, descriptor_pool

    # Loading protobuf's module puts the extension in the default pool: json_format then
    # honours the option, and so must the codec.
    json_names: Any = importlib.import_module("google.protobuf.json_enumvalue_options_pb2")
    options: Any = descriptor_pb2.EnumValueOptions()
    options.Extensions[json_names.json].string = "red-ish"
    file = descriptor_pb2.FileDescriptorProto(name="colours.proto", package="c", syntax="proto3")
    colour = file.enum_type.add(name="Colour")
    colour.value.add(name="RED", number=0, options=options)
    colour.value.add(name="BLUE", number=1)
    message = file.message_type.add(name="Paint")
    message.field.add(name="colour", number=1, type=14, label=1, type_name=".c.Colour")
    message.field.add(name="colours", number=2, type=14, label=3, type_name=".c.Colour")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool


def test_enum_values_with_a_json_name_option_use_it_as_json_format_does() -> None:
    from google.protobuf import message_factory

    pool = _custom_enum_pool()
    paint: Any = message_factory.GetMessageClass(pool.FindMessageTypeByName("c.Paint"))
    codec = JsonCodec(pool, JsonOptions())
    message = paint(colour=0, colours=[0, 1])
    printed = codec.encode(message)
    assert printed == {"colour": "red-ish", "colours": ["red-ish", "BLUE"]}
    assert printed == json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True, descriptor_pool=pool
    )
    for body in ({"colour": "red-ish", "colours": ["RED", "BLUE"]}, {"colour": "BLUE"}):
        ours, theirs = paint(), paint()
        codec.decode(body, ours)
        json_format.ParseDict(body, theirs, descriptor_pool=pool)
        assert ours == theirs
