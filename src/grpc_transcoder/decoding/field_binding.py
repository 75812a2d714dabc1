"""Query binding: path variables, query parameters and form fields set into the request message.

Input: (key, value) pairs from `query_string` and field paths with string values. Output: fields
set on the message; every problem becomes a FieldViolation naming the parameter.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from grpc_transcoder.decoding.field_plans import (
    FieldPath,
    FieldPlan,
    MessagePlan,
    NotTraversableError,
    PlanCache,
    Shape,
    UnknownFieldError,
)
from grpc_transcoder.decoding.field_values import ConversionError
from grpc_transcoder.decoding.query_string import Pair, parse_key
from grpc_transcoder.errors import FieldViolation, Violations

logger = logging.getLogger(__name__)

_SHOWN_CHARS = 60


class Origin(enum.Enum):
    """Where a value came from; decides what it may set and what it must agree with."""

    BODY = "the request body"
    PATH = "the URL path"
    QUERY = "the query string"


def show(value: str) -> str:
    """A value quoted for a message, shortened when long."""
    if len(value) > _SHOWN_CHARS:
        value = value[:_SHOWN_CHARS] + "..."
    return repr(value)


class _Rejected(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class _Unknown(Exception):
    def __init__(self, name: str, message_type: str) -> None:
        super().__init__(name)
        self.description = f"unknown parameter: {message_type} has no field {name!r}"


def _never(_path: FieldPath) -> bool:
    return False


@dataclass(slots=True)
class Binder:
    """Sets fields of one request message from strings; one Binder per request.

    `body` is the HTTP rule's body ("" none, "*" all, or a field path such as `shelf` or
    `update.content`): query parameters may not set what the body covers. `body_sets(path)`
    tells whether the body set a field, so that a path variable that contradicts it is
    rejected. `reject_unknown` (default True)
    reports unknown parameters; otherwise they are logged at DEBUG and skipped.
    """

    plans: PlanCache
    message: Message
    violations: Violations
    body: str = ""
    reject_unknown: bool = True
    body_sets: Callable[[FieldPath], bool] = _never
    _set_by: dict[FieldPath, Origin] = field(default_factory=dict)
    _root: MessagePlan = field(init=False)
    _body_path: FieldPath = field(init=False)

    def __post_init__(self) -> None:
        self._root = self.plans.plan_of(self.message)
        self._body_path = tuple(self.body.split(".")) if self.body not in ("", "*") else ()

    def bind_pairs(
        self,
        pairs: Iterable[Pair],
        *,
        origin: Origin,
        prefix: FieldPath = (),
        ignored: frozenset[str] = frozenset(),
    ) -> None:
        """Bind `key=value` pairs (query or form); `prefix` roots form fields at a body field."""
        for key, value in pairs:
            if key not in ignored:
                parsed = parse_key(key)
                self.bind(key, prefix + parsed.path, value, origin=origin, map_key=parsed.map_key)

    def bind(
        self, label: str, names: FieldPath, value: str, *, origin: Origin, map_key: str | None
    ) -> None:
        """Set the field at `names` from `value`; problems become violations named `label`."""
        try:
            self._bind(names, value, origin, map_key)
        except _Rejected as exc:
            self.violations.append(FieldViolation(label, exc.description))
        except _Unknown as exc:
            if self.reject_unknown or origin is Origin.PATH:
                self.violations.append(FieldViolation(label, exc.description))
            else:
                logger.debug("ignored unknown parameter %r (%s)", label, exc.description)

    def _bind(self, names: FieldPath, value: str, origin: Origin, map_key: str | None) -> None:
        try:
            resolved = self.plans.resolve(self._root, names)
        except UnknownFieldError as exc:
            raise _Unknown(exc.name, exc.message_type) from None
        except NotTraversableError as exc:
            raise _Rejected(str(exc)) from None
        leaf, path = resolved.leaf, resolved.names
        if leaf.shape is not Shape.VALUE or map_key is not None:
            _check_shape(leaf, map_key)
        if origin is Origin.QUERY and self.body:
            self._check_outside_body(path)
        converted = _convert(leaf, value, map_key)
        target = self.message if len(path) == 1 else self._target(resolved.steps)
        earlier = Origin.BODY if origin is Origin.PATH and self.body_sets(path) else None
        earlier = earlier or self._set_by.get(path)
        if earlier is not None and self._agrees(earlier, origin, target, leaf, converted):
            return
        self._check_once(path, map_key, leaf, origin)
        if leaf.oneof:
            _check_oneof(target, leaf)
        _assign(target, leaf, converted)
        self._set_by[path] = origin

    def _check_outside_body(self, path: FieldPath) -> None:
        if self.body == "*":
            raise _Rejected(
                'read from the request body (the HTTP rule has body: "*");'
                " it cannot be a query parameter"
            )
        body_path = self._body_path
        if path[: len(body_path)] == body_path:
            raise _Rejected(
                f"inside the request body field {self.body!r}; it cannot be a query parameter"
            )

    def _target(self, steps: tuple[FieldPlan, ...]) -> Message:
        """The message that holds the leaf field, checking oneofs on the way."""
        target = self.message
        for plan in steps[:-1]:
            _check_oneof(target, plan)
            target = getattr(target, plan.name)
        return target

    def _agrees(
        self, earlier: Origin, origin: Origin, target: Message, leaf: FieldPlan, value: Any
    ) -> bool:
        """True when an earlier source set this field to the same value; raises on a conflict."""
        if earlier is origin or leaf.shape is not Shape.VALUE:
            return False
        current = getattr(target, leaf.name)
        if current == value:
            return True
        raise _Rejected(
            f"{_shown(current)} in {earlier.value} but {_shown(value)} in {origin.value};"
            " the values must agree"
        )

    def _check_once(
        self, path: FieldPath, map_key: str | None, leaf: FieldPlan, origin: Origin
    ) -> None:
        if leaf.shape is Shape.REPEATED:
            return
        key = path if map_key is None else (*path, f"[{map_key}]")
        if key in self._set_by and map_key is not None:
            raise _Rejected(f"given more than once; each key of {leaf.name} takes one value")
        if key in self._set_by:
            raise _Rejected(
                f"given more than once; {leaf.name} is a singular {leaf.type_name}, not repeated"
            )
        self._set_by[key] = origin


def _check_shape(leaf: FieldPlan, map_key: str | None) -> None:
    shape = leaf.shape
    if shape is Shape.BODY_ONLY:
        raise _Rejected(
            f"{leaf.name} ({leaf.type_name}) cannot be set from a string; send it in a JSON body"
        )
    if shape is Shape.MESSAGE:
        raise _Rejected(
            f"{leaf.name} is a {leaf.type_name} message; set its fields as {leaf.name}.field=value"
        )
    if map_key is None and shape is Shape.MAP:
        raise _Rejected(f"a map; set its entries as {leaf.name}[key]=value")
    if map_key is not None and shape is not Shape.MAP:
        if shape is Shape.REPEATED and map_key == "":
            return
        raise _Rejected(f"{leaf.name} is not a map; [key] selects map entries only")


def _convert(leaf: FieldPlan, value: str, map_key: str | None) -> Any:
    assert leaf.convert is not None  # every shape past _check_shape has a converter
    try:
        converted = leaf.convert(value)
    except ConversionError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        raise _Rejected(f"expected {exc.expected}, got {show(value)}{detail}") from None
    if leaf.shape is not Shape.MAP:
        return converted
    assert leaf.convert_key is not None
    assert map_key is not None
    try:
        return leaf.convert_key(map_key), converted
    except ConversionError as exc:
        raise _Rejected(f"map key: expected {exc.expected}, got {show(map_key)}") from None


def _check_oneof(target: Message, plan: FieldPlan) -> None:
    if not plan.oneof:
        return
    current = target.WhichOneof(plan.oneof)
    if current is not None and current != plan.name:
        raise _Rejected(
            f"{plan.name} and {current} are members of oneof {plan.oneof}; set only one of them"
        )


def _assign(target: Message, leaf: FieldPlan, value: Any) -> None:
    if leaf.shape is Shape.REPEATED:
        getattr(target, leaf.name).append(value)
    elif leaf.shape is Shape.MAP:
        key, item = value
        entries = getattr(target, leaf.name)
        if isinstance(item, Message):
            entries[key].CopyFrom(item)
        else:
            entries[key] = item
    elif isinstance(value, Message):
        getattr(target, leaf.name).CopyFrom(value)
    else:
        setattr(target, leaf.name, value)


def _shown(value: Any) -> str:
    if isinstance(value, Message):
        return f"{type(value).DESCRIPTOR.full_name}({show(str(value).strip())})"
    return show(value) if isinstance(value, str) else repr(value)
