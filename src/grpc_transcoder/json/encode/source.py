"""Per-type encoder source: the straight-line function that prints one message type as JSON.

Input: the fields of a message type, each with its JSON key and value converter, and whether
unpopulated fields are omitted. Output: a compiled `encode(message) -> dict`, generated as
Python source the way `dataclasses` generates `__init__`. Every field is read by attribute in
declaration order: fields without presence go straight into one dict display (or behind a
truthiness test when unpopulated ones are omitted), fields with presence behind `HasField`,
and each oneof behind a single `WhichOneof`. There are no per-field table lookups and no
`ListFields()`, which costs more than reading the fields it lists.

Only names and keys from the descriptors enter the source, and only as `repr()` literals or
checked identifiers; converters are passed in the function's globals as `c0`, `c1`, ...
"""

from __future__ import annotations

import binascii
import keyword
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grpc_transcoder.json import scalars as json_scalars
from grpc_transcoder.json.scalars import Convert, EnumNames

Encode = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class EncodedField:
    """How one field prints: attribute, key, converter and the shape of its value.

    - `convert`: for singular fields and map fields, value -> JSON (a map's converter takes the
      whole container); for repeated fields, element -> JSON. None: the value is its own JSON.
    - `oneof`: the name of the containing oneof (proto3 `optional` fields have one too).
    - `unwrap`: a wrapper message field, printed as its `value` (`convert` converts that).
    - `signed_zero`: a float field, whose -0.0 is populated although it is falsy.
    """

    attr: str
    key: str
    convert: Convert | None
    unwrap: bool = False
    repeated: bool = False
    is_map: bool = False
    presence: bool = False
    oneof: str | None = None
    signed_zero: bool = False


def compile_encoder(
    type_name: str, fields: Sequence[EncodedField], *, omit_unpopulated: bool
) -> Encode:
    """The compiled encoder of one message type; `type_name` names it in tracebacks."""
    source = _Source(omit_unpopulated)
    for group in _groups(fields):
        source.add(group)
    namespace: dict[str, Any] = {**source.globals, "__builtins__": _BUILTINS}
    code = compile(source.text(), f"<json encoder for {type_name}>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from checked names and repr() literals
    encode: Encode = namespace["encode"]
    return encode


def _groups(fields: Sequence[EncodedField]) -> list[list[EncodedField]]:
    """Fields in declaration order, the members of each oneof together at the first one."""
    groups: list[list[EncodedField]] = []
    oneofs: dict[str, list[EncodedField]] = {}
    for field in fields:
        if field.oneof is None:
            groups.append([field])
        elif field.oneof in oneofs:
            oneofs[field.oneof].append(field)
        else:
            oneofs[field.oneof] = group = [field]
            groups.append(group)
    return groups


class _Source:
    """The lines of one encoder, and the converters its globals must hold."""

    def __init__(self, omit_unpopulated: bool) -> None:
        self.omit_unpopulated = omit_unpopulated
        self.globals: dict[str, Any] = {
            "_negative_zero": _negative_zero,
            "_base64": binascii.b2a_base64,
        }
        self.converters = 0
        self.display: list[str] = []  # "key": value entries of the initial dict
        self.statements: list[str] = []
        self.presence_tests = 0

    def text(self) -> str:
        lines = ["def encode(m):"]
        if self.presence_tests:  # a method lookup on a upb message costs more than the call
            lines.append("    has = m.HasField")
        lines.append("    js = {" + ", ".join(self.display) + "}")
        lines += self.statements
        lines.append("    return js")
        return "\n".join(lines) + "\n"

    def add(self, group: list[EncodedField]) -> None:
        first = group[0]
        if first.oneof is not None and len(group) > 1:
            self._oneof(first.oneof, group)
        elif first.presence:
            self.presence_tests += 1
            self.statements.append(f"    if has({first.attr!r}):")
            self.statements.append(f"        {self._store(first, _read(first))}")
        elif not self.omit_unpopulated:
            self.display.append(f"{first.key!r}: {self._value(first, _read(first))}")
        else:
            self.statements.append(f"    v = {_read(first)}")
            test = "v or _negative_zero(v)" if first.signed_zero else "v"
            self.statements.append(f"    if {test}:")
            self.statements.append(f"        {self._store(first, 'v', populated=True)}")

    def _oneof(self, name: str, members: list[EncodedField]) -> None:
        self.statements.append(f"    w = m.WhichOneof({name!r})")
        for index, member in enumerate(members):
            branch = "if" if index == 0 else "elif"
            self.statements.append(f"    {branch} w == {member.attr!r}:")
            self.statements.append(f"        {self._store(member, _read(member))}")

    def _store(self, field: EncodedField, value: str, *, populated: bool = False) -> str:
        return f"js[{field.key!r}] = {self._value(field, value, populated=populated)}"

    def _value(self, field: EncodedField, value: str, *, populated: bool = False) -> str:
        """The expression printing `value`, the field's value (or container)."""
        if field.repeated:
            return self._container(field, value, populated=populated)
        convert = field.convert
        if convert is None:
            return value
        names = _enum_names(convert)
        if names is not None:  # index the dict: no call for the common case
            return f"{self._global(names)}[{value}]"
        if convert is json_scalars.print_double:  # finite values print as themselves
            return f"(d if (d := {value}) - d == 0.0 else {self._global(convert)}(d))"
        if convert is json_scalars.print_bytes:
            return f"_base64({value}, newline=False).decode('ascii')"
        return f"{self._global(convert)}({value})"

    def _container(self, field: EncodedField, value: str, *, populated: bool) -> str:
        """A map or list field. An empty container is common, and calling a converter is not
        free: unless the caller knows it is `populated`, it is converted only when not empty."""
        convert = field.convert
        if convert is None and not field.is_map:
            return f"{value}[:]"  # a plain list of the elements, at C speed
        name = self._global(convert)
        target = value if populated else "v"
        printed = f"{name}({target})" if field.is_map else f"list(map({name}, {target}))"
        if populated:
            return printed
        empty = "{}" if field.is_map else "[]"
        return f"{printed} if (v := {value}) else {empty}"

    def _global(self, value: object) -> str:
        name = f"c{self.converters}"
        self.converters += 1
        self.globals[name] = value
        return name


def _read(field: EncodedField) -> str:
    attr = field.attr
    if attr.isidentifier() and attr.isascii() and not keyword.iskeyword(attr):
        read = f"m.{attr}"
    else:
        read = f"getattr(m, {attr!r})"
    return f"{read}.value" if field.unwrap else read


def _enum_names(convert: Convert) -> EnumNames | None:
    """The names table behind an enum printer (`EnumNames.__getitem__`), if it is one."""
    owner = getattr(convert, "__self__", None)
    return owner if isinstance(owner, EnumNames) else None


def _negative_zero(value: float) -> bool:
    """-0.0: populated (it has a sign bit), printed as -0.0 even when zeros are omitted."""
    return math.copysign(1.0, value) < 0


_BUILTINS = {"getattr": getattr, "list": list, "map": map}
