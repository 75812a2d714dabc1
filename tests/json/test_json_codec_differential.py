"""The codec against protobuf's json_format on generated library.v1.Kinds messages and bodies.

Printing: for every option combination, `encode` equals `json_format.MessageToDict`, or both
fail. Parsing: for generated bodies (valid values and near misses), `decode` and
`json_format.ParseDict` either both succeed with the same message, or both fail; when they
fail, our error names the top-level field json_format complains about. Where Python's
json_format is more lenient than protobuf's C++ and Go parsers (`json_strategies.
references_reject`), the transcoder must refuse.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grpc_transcoder.errors import FieldViolation, RequestError
from grpc_transcoder.json.codec import JsonCodec, JsonEncodeError, JsonOptions
from grpc_transcoder.loading.registry import Registry
from tests import json_strategies
from tests.conftest import LIBRARY_SET

OPTIONS = st.builds(JsonOptions, st.booleans(), st.booleans(), st.booleans(), st.booleans())
EXAMPLES = settings(
    max_examples=250,
    deadline=None,
    # The explain phase traces every line (sys.settrace before Python 3.12): far too slow here.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def library(registry: Registry) -> Registry:
    return registry


def _registry() -> Registry:
    from grpc_transcoder_tools import example_backend

    return example_backend.load_registry(LIBRARY_SET)


REGISTRY = _registry()  # hypothesis strategies are built at collection time


def _printed(codec: JsonCodec, message: Message) -> tuple[str, Any]:
    try:
        return "ok", codec.encode(message)
    except JsonEncodeError as exc:
        return "error", exc.status


def _reference_print(message: Message, options: JsonOptions) -> tuple[str, Any]:
    try:
        return "ok", json_format.MessageToDict(
            message,
            always_print_fields_with_no_presence=not options.omit_unpopulated,
            preserving_proto_field_name=options.use_proto_names,
            use_integers_for_enums=options.enums_as_ints,
            descriptor_pool=REGISTRY.pool,
        )
    except Exception as exc:  # json_format raises ValueError, TypeError, SerializeToJsonError...
        return "error", f"{type(exc).__name__}: {exc}"


@EXAMPLES
@given(message=json_strategies.messages(REGISTRY), options=OPTIONS)
def test_encode_prints_what_json_format_prints(message: Message, options: JsonOptions) -> None:
    ours = _printed(JsonCodec(REGISTRY.pool, options), message)
    theirs = _reference_print(message, options)
    assert ours[0] == theirs[0], (ours, theirs)
    assert ours[1] == (500 if ours[0] == "error" else theirs[1])


@EXAMPLES
@given(message=json_strategies.messages(REGISTRY), options=OPTIONS)
def test_printed_json_reads_back_the_same(message: Message, options: JsonOptions) -> None:
    codec = JsonCodec(REGISTRY.pool, options)
    try:
        value = codec.encode(message)
    except JsonEncodeError:
        return
    # Not always the same message: FLT_MAX prints as 3.4028235e+38, which json_format then
    # rejects as too large. What matters is that both read it the same way.
    ours = _parsed(codec, value)
    theirs = _reference_parse(value, options.ignore_unknown_fields)
    assert ours[0] == theirs[0], (value, ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1]


def _parsed(codec: JsonCodec, body: Any) -> tuple[str, Any]:
    message = REGISTRY.new_message("library.v1.Kinds")
    try:
        codec.decode(body, message)
    except RequestError as exc:
        return "error", exc.violations
    return "ok", message.SerializeToString(deterministic=True)


def _reference_parse(body: Any, ignore_unknown_fields: bool) -> tuple[str, Any]:
    message = REGISTRY.new_message("library.v1.Kinds")
    try:
        json_format.ParseDict(
            body,
            message,
            ignore_unknown_fields=ignore_unknown_fields,
            descriptor_pool=REGISTRY.pool,
        )
    except Exception as exc:  # ParseError, and TypeError, KeyError... that escape it
        return "error", f"{type(exc).__name__}: {exc}"
    return "ok", message.SerializeToString(deterministic=True)


_FAILED_FIELD = re.compile(r'Failed to parse (\S+) field|has no field named "([^"]+)"')


@EXAMPLES
@given(body=json_strategies.bodies(REGISTRY), ignore_unknown_fields=st.booleans())
def test_decode_accepts_what_json_format_accepts(
    body: dict[str, Any], ignore_unknown_fields: bool
) -> None:
    codec = JsonCodec(REGISTRY.pool, JsonOptions(ignore_unknown_fields=ignore_unknown_fields))
    ours = _parsed(codec, body)
    theirs = _reference_parse(body, ignore_unknown_fields)
    if theirs[0] == "ok" and json_strategies.references_reject(REGISTRY, body):
        # Python's json_format is the lenient one here: the C++ and Go parsers refuse it.
        assert ours[0] == "error", (body, ours)
        return
    assert ours[0] == theirs[0], (body, ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1], body
        return
    violations: list[FieldViolation] = ours[1]
    assert violations
    assert all(v.description for v in violations)
    named = _FAILED_FIELD.search(theirs[1])
    if named is not None and (named.group(1) or named.group(2)) in _keys(body):
        # json_format names a field on the way to its first problem: so do we.
        names = {name for v in violations for name in re.split(r"[.\[\]]", v.field)}
        assert (named.group(1) or named.group(2)) in names, (body, theirs[1], violations)


def _keys(value: Any) -> set[str]:
    """Every object key in a JSON value (json_format also iterates strings as if objects)."""
    if isinstance(value, dict):
        return {str(key) for key in value} | {k for item in value.values() for k in _keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    return set()
