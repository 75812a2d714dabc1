"""Synthetic descriptor sets: a large, valid FileDescriptorSet built with descriptor_pb2 alone.

Input: how many methods and message types. Output: a `FileDescriptorSet` shaped like a real API
(resources with Get/List/Create/Update/Delete and a custom verb, google.api.http rules of every
form), for the cold-start benchmarks and tests. No protoc is needed.

    python -m grpc_transcoder_tools.synthetic_set --methods 2000 --message-types 5000 -o big.binpb
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2, http_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2

PACKAGE = "synthetic.v1"
ANNOTATIONS = "google/api/annotations.proto"
TIMESTAMP = "google/protobuf/timestamp.proto"
TYPES_PER_FILE = 250
METHODS_PER_RESOURCE = 6  # Get, List, Create, Update, Delete and a custom verb

Field = descriptor_pb2.FieldDescriptorProto


@dataclass(frozen=True, slots=True)
class Shape:
    """The size of a synthetic set. Leaves are scalar-only types the others refer to."""

    methods: int = 2000
    messages: int = 5000
    methods_per_service: int = 20

    @property
    def leaves(self) -> int:
        return max(1, self.messages // 10)

    def check(self) -> None:
        """Raises ValueError when the numbers cannot make a valid set."""
        if self.methods < 1 or self.methods_per_service < 1:
            raise ValueError("a synthetic set needs at least one method and one per service")
        if self.messages < self.leaves + 2:
            raise ValueError(f"a synthetic set needs at least 3 message types, not {self.messages}")


def generate(
    *, methods: int = 2000, message_types: int = 5000, methods_per_service: int = 20
) -> bytes:
    """The serialized set of `build` (deterministic: the same numbers give the same bytes)."""
    fds = build(
        methods=methods, message_types=message_types, methods_per_service=methods_per_service
    )
    return fds.SerializeToString(deterministic=True)


def build(
    *, methods: int = 2000, message_types: int = 5000, methods_per_service: int = 20
) -> descriptor_pb2.FileDescriptorSet:
    """A set with exactly `methods` methods and `message_types` message types (plus one enum).

    The files import google/api/annotations.proto and google/protobuf/timestamp.proto without
    carrying them, as a set built without `--include_imports` would; the transcoder resolves
    them from its bundled copies. Raises ValueError for numbers that cannot make a valid set.
    """
    shape = Shape(methods, message_types, methods_per_service)
    shape.check()
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.extend(_type_files(shape))
    fds.file.extend(_service_files(shape))
    return fds


def _type_file_name(chunk: int) -> str:
    return f"synthetic/v1/types_{chunk:03d}.proto"


def _type_files(shape: Shape) -> Iterator[descriptor_pb2.FileDescriptorProto]:
    leaf_chunks = -(-shape.leaves // TYPES_PER_FILE)
    for chunk, start in enumerate(range(0, shape.messages, TYPES_PER_FILE)):
        # Types refer to leaves (in the first chunks) and to their own file, never to later files.
        leaf_files = [_type_file_name(c) for c in range(min(chunk, leaf_chunks))]
        file = _new_file(_type_file_name(chunk), [TIMESTAMP, *leaf_files])
        if chunk == 0:
            _add_enum(file)
        for index in range(start, min(start + TYPES_PER_FILE, shape.messages)):
            _add_message(file, index, shape)
        yield file


def _new_file(name: str, dependencies: Sequence[str]) -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name=name, package=PACKAGE, syntax="proto3")
    file.dependency.extend(dependencies)
    return file


def _add_enum(file: descriptor_pb2.FileDescriptorProto) -> None:
    state = file.enum_type.add(name="State")
    for number, name in enumerate(("STATE_UNSPECIFIED", "ACTIVE", "ARCHIVED")):
        state.value.add(name=name, number=number)


def _add_message(file: descriptor_pb2.FileDescriptorProto, index: int, shape: Shape) -> None:
    message = file.message_type.add(name=f"Type{index:05d}")
    scalars = [
        ("name", Field.TYPE_STRING),
        ("parent", Field.TYPE_STRING),
        ("id", Field.TYPE_INT64),
        ("flag", Field.TYPE_BOOL),
        ("score", Field.TYPE_DOUBLE),
    ]
    for number, (name, kind) in enumerate(scalars, start=1):
        message.field.add(name=name, number=number, type=kind, label=Field.LABEL_OPTIONAL)
    message.field.add(name="tags", number=6, type=Field.TYPE_STRING, label=Field.LABEL_REPEATED)
    _add_reference(message, "state", 7, f".{PACKAGE}.State", Field.TYPE_ENUM)
    _add_reference(message, "created", 8, ".google.protobuf.Timestamp")
    if index >= shape.leaves:
        _add_reference(message, "child", 9, f".{PACKAGE}.Type{index % shape.leaves:05d}")
        # The previous type when it lives in the same file: references without import cycles.
        if index % TYPES_PER_FILE and index - 1 >= shape.leaves:
            _add_reference(message, "previous", 10, f".{PACKAGE}.Type{index - 1:05d}")


def _add_reference(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    type_name: str,
    kind: int = Field.TYPE_MESSAGE,
) -> None:
    message.field.add(
        name=name, number=number, type=kind, type_name=type_name, label=Field.LABEL_OPTIONAL
    )


def _service_files(shape: Shape) -> Iterator[descriptor_pb2.FileDescriptorProto]:
    services = -(-shape.methods // shape.methods_per_service)
    chunks = -(-shape.messages // TYPES_PER_FILE)
    imports = [ANNOTATIONS, *(_type_file_name(c) for c in range(chunks))]
    for number in range(services):
        file = _new_file(f"synthetic/v1/service_{number:03d}.proto", imports)
        service = file.service.add(name=f"Service{number:03d}")
        first = number * shape.methods_per_service
        for index in range(first, min(first + shape.methods_per_service, shape.methods)):
            _add_method(service, index, shape)
        yield file


def _add_method(service: descriptor_pb2.ServiceDescriptorProto, index: int, shape: Shape) -> None:
    pool_size = shape.messages - shape.leaves
    request = shape.leaves + (2 * index) % pool_size
    response = shape.leaves + (2 * index + 1) % pool_size
    resource, kind = divmod(index, METHODS_PER_RESOURCE)
    method = service.method.add(
        name=f"{_VERBS[kind]}Res{resource:04d}",
        input_type=f".{PACKAGE}.Type{request:05d}",
        output_type=f".{PACKAGE}.Type{response:05d}",
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(_rule(kind, resource))


_VERBS = ("Get", "List", "Create", "Update", "Delete", "Archive")


def _rule(kind: int, resource: int) -> http_pb2.HttpRule:
    """The HttpRule of method `kind` of a resource: every rule form appears in each resource."""
    collection = f"res{resource:04d}"
    item = f"/v1/{{name=projects/*/{collection}/*}}"
    parent = f"/v1/{{parent=projects/*}}/{collection}"
    rules = (
        http_pb2.HttpRule(get=item),
        http_pb2.HttpRule(get=parent),
        http_pb2.HttpRule(post=parent, body="child"),
        http_pb2.HttpRule(patch=item, body="*"),
        http_pb2.HttpRule(delete=item),
        http_pb2.HttpRule(
            post=item + ":archive",
            body="*",
            additional_bindings=[
                http_pb2.HttpRule(
                    custom=http_pb2.CustomHttpPattern(kind="HEAD", path=item + ":archive")
                )
            ],
        ),
    )
    return rules[kind]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", type=int, default=2000)
    parser.add_argument("--message-types", type=int, default=5000)
    parser.add_argument("-o", "--output", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        data = generate(methods=args.methods, message_types=args.message_types)
    except ValueError as exc:
        parser.error(str(exc))
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
