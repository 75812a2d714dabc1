"""Generated encoders on names and shapes the example API does not have.

Field names that are Python keywords or that shadow the encoder's own locals, JSON names that
would break out of a string literal, proto2 presence, a one-member oneof, a map whose keys and
values both convert: every option combination prints exactly what json_format prints.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from grpc_transcoder.json.codec import JsonCodec, JsonOptions

OPTIONS = [
    JsonOptions(),
    JsonOptions(use_proto_names=True),
    JsonOptions(omit_unpopulated=True),
    JsonOptions(enums_as_ints=True),
    JsonOptions(True, True, True, True),
]
HOSTILE_JSON_NAME = "x'}; raise SystemExit #\\\"\n"
_INT64, _STRING, _DOUBLE, _BOOL, _MESSAGE = 3, 9, 1, 8, 11
_OPTIONAL, _REPEATED = 1, 3


def _pool() -> descriptor_pool.DescriptorPool:
    file = descriptor_pb2.FileDescriptorProto(name="odd.proto", package="odd", syntax="proto3")
    odd = file.message_type.add(name="Odd")
    for number, name in enumerate(("from", "class", "None", "m", "js", "v", "w"), start=1):
        odd.field.add(name=name, number=number, type=_STRING, label=_OPTIONAL)
    odd.field.add(name="hostile", number=8, type=_INT64, label=_OPTIONAL)
    odd.field.add(name="lonely", number=9, type=_DOUBLE, label=_OPTIONAL, oneof_index=0)
    odd.field.add(name="import", number=10, type=_INT64, label=_REPEATED)
    odd.field.add(name="level", number=11, type=_DOUBLE, label=_OPTIONAL)
    entry = odd.nested_type.add(name="ScoresEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_INT64, label=_OPTIONAL)
    entry.field.add(name="value", number=2, type=_DOUBLE, label=_OPTIONAL)
    odd.field.add(
        name="scores", number=12, type=_MESSAGE, label=_REPEATED, type_name=".odd.Odd.ScoresEntry"
    )
    odd.field[7].json_name = HOSTILE_JSON_NAME
    odd.oneof_decl.add(name="only")
    legacy = descriptor_pb2.FileDescriptorProto(name="old.proto", package="old", syntax="proto2")
    old = legacy.message_type.add(name="Old")
    old.field.add(name="count", number=1, type=_INT64, label=_OPTIONAL, default_value="7")
    old.field.add(name="flag", number=2, type=_BOOL, label=_OPTIONAL)
    old.field.add(name="tags", number=3, type=_STRING, label=_REPEATED)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    pool.Add(legacy)
    return pool


POOL = _pool()


def _new(name: str, **fields: Any) -> Any:
    message = message_factory.GetMessageClass(POOL.FindMessageTypeByName(name))()
    for key, value in fields.items():
        field = getattr(message, key)
        if isinstance(value, list):
            field.extend(value)
        else:
            setattr(message, key, value)
    return message


def _scored(scores: dict[int, float]) -> Any:
    message = _new("odd.Odd")
    message.scores.update(scores)
    return message


MESSAGES = {
    "odd-empty": lambda: _new("odd.Odd"),
    "odd-full": lambda: _new(
        "odd.Odd",
        **{"from": "a", "class": "b", "None": "c", "import": [1, -2]},
        m="d",
        js="e",
        v="f",
        w="g",
        hostile=-(2**40),
        lonely=-0.0,
        level=-0.0,
    ),
    "odd-scores": lambda: _scored({-(2**63): float("inf"), 0: -0.0, 7: 0.1}),
    "odd-zero-oneof": lambda: _new("odd.Odd", lonely=0.0),
    "old-empty": lambda: _new("old.Old"),
    "old-set-to-defaults": lambda: _new("old.Old", count=7, flag=False),
    "old-full": lambda: _new("old.Old", count=-1, flag=True, tags=["x", "y"]),
}


@pytest.mark.parametrize("options", OPTIONS, ids=repr)
@pytest.mark.parametrize("name", MESSAGES)
def test_odd_names_and_proto2_print_what_json_format_prints(
    name: str, options: JsonOptions
) -> None:
    message = MESSAGES[name]()
    expected = json_format.MessageToDict(
        message,
        always_print_fields_with_no_presence=not options.omit_unpopulated,
        preserving_proto_field_name=options.use_proto_names,
        use_integers_for_enums=options.enums_as_ints,
        descriptor_pool=POOL,
    )
    assert JsonCodec(POOL, options).encode(message) == expected


def test_a_json_name_is_a_key_and_never_code() -> None:
    printed = JsonCodec(POOL, JsonOptions()).encode(_new("odd.Odd", hostile=5))
    assert printed[HOSTILE_JSON_NAME] == "5"
    assert printed["from"] == printed["js"] == ""
    assert printed["import"] == []
    assert "lonely" not in printed  # a oneof member prints only when it is the one set


def test_negative_zero_is_populated_even_when_zeros_are_omitted() -> None:
    codec = JsonCodec(POOL, JsonOptions(omit_unpopulated=True))
    message: Any = _new("odd.Odd", level=0.0)
    assert codec.encode(message) == {}
    message.level = -0.0
    assert str(codec.encode(message)["level"]) == "-0.0"
