"""The codec against protobuf's json_format on invalid documents: mutations of valid ones.

Each example prints a generated library.v1.Kinds message with json_format, mutates the JSON
document once (a wrong JSON type at any field, a null anywhere, an out-of-range number, bad
base64, a bad well-known-type string, a key given twice, a field given by its other name),
and parses the text both ways: the request path's parser (`json_documents` and the codec)
and `json_format.Parse`. They must agree on accept versus reject for every document, and on
the message when both accept, except where protobuf's C++ and Go parsers (behind Envoy and
grpc-gateway) are stricter than Python's json_format: there the transcoder must refuse.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from grpc_transcoder.errors import RequestError
from grpc_transcoder.json import documents as json_documents
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from tests import json_strategies
from tests.json.test_json_codec_differential import REGISTRY

EXAMPLES = settings(
    max_examples=400,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, -0.0, "", "x", [], {}, [1], {"a": 1}, [None],
    2**31, -(2**31) - 1, 2**32, 2**63, -(2**63) - 1, 2**64, 1e39, -1e39, 1e308,
    "1e400", "-1e400", "NaN", "nan", "Infinity", "1.5", "1e3", " 1", "0x10", "1_0",
    "!!!", "a", "abc=", "YQ", "YQ==", "Y=Q=",
    "2020-13-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01", "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z", "2020-01-01T00:00:00+25:00",
    "1", "1.5", "-", "1.0000000001s", "315576000001s", "-1.5s", "1h",
    "a..b", "A_b", "a,,b", "fInt32,f_int32",
    "LOW", "low", "NOPE", "7",
]  # fmt: skip
_SENTINEL = "__twin_of_a_key__"
_SNAKE = re.compile(r"(?<!^)([A-Z])")


@st.composite
def documents(draw: st.DrawFn) -> str:
    """The text of a mutated, once-valid Kinds document."""
    message = draw(json_strategies.messages(REGISTRY))
    try:
        document = json_format.MessageToDict(
            message,
            preserving_proto_field_name=draw(st.booleans()),
            descriptor_pool=REGISTRY.pool,
        )
    except Exception:
        assume(False)
    containers = list(_containers(document, ()))
    _, container = draw(st.sampled_from(containers))
    mutation = draw(st.sampled_from(["value", "value", "value", "duplicate", "alias"]))
    if mutation == "value" or not isinstance(container, dict) or not container:
        _replace(draw, container, draw(st.sampled_from(HOSTILE_VALUES)))
        return json.dumps(document)
    key = draw(st.sampled_from(sorted(container)))
    twin = key if mutation == "duplicate" else _other_name(key)
    container[_SENTINEL] = 0
    text = json.dumps(document)
    value = draw(st.sampled_from([container[key], *HOSTILE_VALUES[:6]]))
    member = f"{json.dumps(twin)}: {json.dumps(value)}"
    return text.replace(f'"{_SENTINEL}": 0', member)


def _containers(value: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(value, dict | list):
        yield path, value
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _containers(item, (*path, key))


def _replace(draw: st.DrawFn, container: Any, new: Any) -> None:
    if isinstance(container, dict):
        key = draw(st.sampled_from([*sorted(container), "fInt32", "f_double", "unknownKey"]))
        container[key] = new
    elif container:
        container[draw(st.integers(0, len(container) - 1))] = new
    else:
        container.append(new)


def _other_name(key: str) -> str:
    """The proto name of a JSON name (`fInt32` -> `f_int32`), or the JSON name of a proto name."""
    if "_" in key:
        first, *rest = key.split("_")
        return first + "".join(part[:1].upper() + part[1:] for part in rest)
    return _SNAKE.sub(r"_\1", key).lower()


def _ours(text: str) -> tuple[str, Any]:
    message = REGISTRY.new_message("library.v1.Kinds")
    try:
        value = json_documents.loads(text.encode())
        JsonCodec(REGISTRY.pool, JsonOptions()).decode(value, message)
    except (orjson.JSONDecodeError, json_documents.DuplicateKeyError, RequestError) as exc:
        return "error", str(exc)
    return "ok", message.SerializeToString(deterministic=True)


def _theirs(text: str) -> tuple[str, Any]:
    message: Message = REGISTRY.new_message("library.v1.Kinds")
    try:
        json_format.Parse(text, message, descriptor_pool=REGISTRY.pool)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    return "ok", message.SerializeToString(deterministic=True)


@EXAMPLES
@given(text=documents())
def test_invalid_documents_are_refused_as_json_format_refuses_them(text: str) -> None:
    ours, theirs = _ours(text), _theirs(text)
    if theirs[0] == "ok" and json_strategies.references_reject(REGISTRY, orjson.loads(text)):
        assert ours[0] == "error", (text, ours)  # the C++ and Go parsers refuse it too
        return
    assert ours[0] == theirs[0], (text, ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1], text


def test_the_mutations_reach_every_kind_of_problem() -> None:
    """The generator is not vacuous: fixed examples of each mutation are refused by both."""
    for text in (
        '{"fInt32": "x"}',
        '{"fInt32": 2147483648}',
        '{"fBytes": "a"}',
        '{"wTimestamp": "2020-13-01T00:00:00Z"}',
        '{"wDuration": "1"}',
        '{"rString": [null]}',
        '{"fInt32": 1, "fInt32": 2}',
        '{"mString": {"a": "1", "a": "2"}}',
    ):
        assert (_ours(text)[0], _theirs(text)[0]) == ("error", "error"), text
    assert _ours('{"fInt32": 1, "f_int32": 1}')[0] == "error"
    assert _theirs('{"fInt32": 1, "f_int32": 1}')[0] == "ok"  # the lenient one


def test_integers_just_below_the_int64_minimum_are_refused_not_rounded() -> None:
    """orjson reads an integer below -2**63 as a float; those within 1024 of it round to
    exactly -2**63, which must not pass as the value the client sent."""
    for number in (-(2**63) - 1, -(2**63) - 1024, -(2**63) - 2048):
        for text in (
            f'{{"fInt64": {number}}}',
            f'{{"fSfixed64": {number}}}',
            f'{{"fSint64": {number}}}',
            f'{{"rInt64": [1, {number}]}}',
        ):
            assert (_ours(text)[0], _theirs(text)[0]) == ("error", "error"), text
    text = f'{{"fInt64": {-(2**63)}, "fDouble": {-(2**63) - 1}}}'
    assert _ours(text) == _theirs(text)
    assert _ours(text)[0] == "ok"
