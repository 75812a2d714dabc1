"""Field plans: each request message type compiled once into lookup tables and converters.

Input: message Descriptors, on first use. Output: a `MessagePlan` per type (fields by proto and
JSON name, each with its shape and converters), cached for the life of the container.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.decoding import field_values, well_known_values
from grpc_transcoder.decoding.field_values import Converter, JsonDecoder

FieldPath = tuple[str, ...]
MAX_CACHED_PATHS = 4096
MAX_CACHED_PATH_NAMES = 8  # longer paths (recursive types) are resolved every time


class Shape(enum.Enum):
    """How a field is set from strings (path variables, query parameters, form fields)."""

    VALUE = "value"  # a singular scalar or string-form well-known type: one value
    REPEATED = "repeated"  # each value appends one element
    MAP = "map"  # `name[key]=value` sets one entry
    MESSAGE = "message"  # a singular message: traversed with '.'
    BODY_ONLY = "body only"  # repeated messages, maps of messages: only a JSON body sets them


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One field and how strings become its values."""

    name: str  # the proto name, used for setting and in field paths
    json_name: str
    shape: Shape
    descriptor: FieldDescriptor
    convert: Converter | None = None  # values (elements, map values) of VALUE/REPEATED/MAP
    convert_key: Converter | None = None  # map keys
    oneof: str = ""  # the oneof the field belongs to, if it has other members

    @property
    def message_type(self) -> Descriptor:
        """The message type of a MESSAGE or BODY_ONLY field (map fields: the entry type)."""
        return cast(Descriptor, self.descriptor.message_type)

    @property
    def type_name(self) -> str:
        """The field's type as a person reads it: `int32`, `repeated string`, `map<string, ...>`."""
        return type_name(self.descriptor)


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A field path from a request message to one field: the plans of every step."""

    steps: tuple[FieldPlan, ...]
    names: FieldPath  # proto names

    @property
    def leaf(self) -> FieldPlan:
        return self.steps[-1]


class UnknownFieldError(LookupError):
    """A name in a field path names no field of its message."""

    def __init__(self, name: str, message_type: str) -> None:
        super().__init__(f"{message_type} has no field {name!r}")
        self.name = name
        self.message_type = message_type


class NotTraversableError(ValueError):
    """A field path continues past a field that is not a singular message."""


@dataclass(frozen=True, slots=True)
class MessagePlan:
    """The fields of one message type by proto name and by JSON name."""

    full_name: str
    fields: Mapping[str, FieldPlan]
    field_mask: str = ""  # the top-level FieldMask field PATCH requests fill, if any

    def field(self, name: str) -> FieldPlan | None:
        return self.fields.get(name)


class PlanCache:
    """Compiles each message type once; plans for nested types are compiled when first reached.

    `enum_case_insensitive` (default off) is baked into the enum converters. Resolved field
    paths are cached too, up to MAX_CACHED_PATHS (recursive types have endless valid paths).
    """

    def __init__(self, *, json: JsonDecoder, enum_case_insensitive: bool = False) -> None:
        self._json = json
        self._enum_case_insensitive = enum_case_insensitive
        self._plans: dict[str, MessagePlan] = {}
        self._paths: dict[tuple[str, FieldPath], ResolvedPath] = {}

    def cached_paths(self) -> int:
        return len(self._paths)

    def plan(self, descriptor: Descriptor) -> MessagePlan:
        plan = self._plans.get(descriptor.full_name)
        if plan is None:
            plan = self._plans[descriptor.full_name] = self._compile(descriptor)
        return plan

    def plan_of(self, message: Message) -> MessagePlan:
        return self.plan(cast(Descriptor, message.DESCRIPTOR))

    def resolve(self, root: MessagePlan, names: FieldPath) -> ResolvedPath:
        """The field at `names` (proto or JSON names) under `root`.

        Raises UnknownFieldError, or NotTraversableError when a name other than the last is
        not a singular message field.
        """
        key = (root.full_name, names)
        resolved = self._paths.get(key)
        if resolved is None:
            resolved = self._resolve(root, names)
            if len(self._paths) < MAX_CACHED_PATHS and len(names) <= MAX_CACHED_PATH_NAMES:
                self._paths[key] = resolved
        return resolved

    def _resolve(self, plan: MessagePlan, names: FieldPath) -> ResolvedPath:
        steps: list[FieldPlan] = []
        for name in names:
            if steps:
                plan = self._traverse(steps[-1])
            step = plan.field(name)
            if step is None:
                raise UnknownFieldError(name, plan.full_name)
            steps.append(step)
        return ResolvedPath(tuple(steps), tuple(step.name for step in steps))

    def _traverse(self, parent: FieldPlan) -> MessagePlan:
        if parent.shape is Shape.MESSAGE:
            return self.plan(parent.message_type)
        name, kind = parent.name, parent.type_name
        if parent.shape is Shape.VALUE and parent.descriptor.message_type is not None:
            reason = f"{name} is a {kind}, given as one value; it has no fields to set"
        elif parent.shape is Shape.VALUE:
            reason = f"{name} is {_article(kind)}, not a message; '.' cannot follow it"
        else:
            reason = f"{name} is a {kind}; '.' can only follow singular message fields"
        raise NotTraversableError(reason)

    def _compile(self, descriptor: Descriptor) -> MessagePlan:
        plans = [self._field(field) for field in descriptor.fields]
        fields = {plan.json_name: plan for plan in plans}
        fields.update({plan.name: plan for plan in plans})  # a proto name wins over a JSON name
        return MessagePlan(descriptor.full_name, fields, _mask_field(descriptor))

    def _field(self, field: FieldDescriptor) -> FieldPlan:
        oneof = field.containing_oneof
        # A oneof of one field (such as the synthetic oneof of a proto3 `optional`) cannot clash.
        real_oneof = "" if oneof is None or len(oneof.fields) == 1 else oneof.name
        shape, convert, convert_key = self._shape(field)
        return FieldPlan(
            field.name, field.json_name, shape, field, convert, convert_key, real_oneof
        )

    def _shape(self, field: FieldDescriptor) -> tuple[Shape, Converter | None, Converter | None]:
        map_entry = _map_entry(field)
        if map_entry is not None:
            entry = map_entry.fields_by_name
            convert = self._convert(entry["value"])
            if convert is None:
                return Shape.BODY_ONLY, None, None
            return Shape.MAP, convert, self._convert(entry["key"])
        convert = self._convert(field)
        if field.is_repeated:
            return (Shape.REPEATED if convert else Shape.BODY_ONLY), convert, None
        return (Shape.VALUE if convert else Shape.MESSAGE), convert, None

    def _convert(self, field: FieldDescriptor) -> Converter | None:
        return converter(field, json=self._json, enum_case_insensitive=self._enum_case_insensitive)


def converter(
    field: FieldDescriptor, *, json: JsonDecoder, enum_case_insensitive: bool = False
) -> Converter | None:
    """The converter for a field's values, or None for messages that are not well-known types.

    `enum_case_insensitive` (default off, as in grpc-gateway) accepts enum names in any case.
    """
    if field.message_type is not None:
        return well_known_values.message_converter(field.message_type, json=json)
    if field.enum_type is not None:
        return field_values.enum_converter(field.enum_type, case_insensitive=enum_case_insensitive)
    return field_values.scalar_converter(field.type)


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry type of a map field; None for other fields."""
    entry = field.message_type
    if field.is_repeated and entry is not None and entry.GetOptions().map_entry:
        return entry
    return None


def _mask_field(descriptor: Descriptor) -> str:
    """`update_mask` if it is a FieldMask, else the only FieldMask field, else ''."""
    masks = [
        f.name
        for f in descriptor.fields
        if not f.is_repeated
        and f.message_type is not None
        and f.message_type.full_name == well_known_values.FIELD_MASK
    ]
    if "update_mask" in masks:
        return "update_mask"
    return masks[0] if len(masks) == 1 else ""


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


_SCALAR_NAMES = {
    getattr(FieldDescriptor, name): name[len("TYPE_") :].lower()
    for name in dir(FieldDescriptor)
    if name.startswith("TYPE_")
}


def type_name(field: FieldDescriptor) -> str:
    """`int32`, `library.v1.Genre`, `repeated string`, `map<string, google.protobuf.Value>`."""
    entry = _map_entry(field)
    if entry is not None:
        fields = entry.fields_by_name
        return f"map<{_element(fields['key'])}, {_element(fields['value'])}>"
    return f"repeated {_element(field)}" if field.is_repeated else _element(field)


def _element(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return str(field.message_type.full_name)
    if field.enum_type is not None:
        return str(field.enum_type.full_name)
    return _SCALAR_NAMES.get(field.type, "value")
