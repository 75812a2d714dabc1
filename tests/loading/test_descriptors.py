"""descriptors and descriptor_merge: one private pool from several sets, every problem at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence

import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from grpc_transcoder_tools import synthetic_set
from hypothesis import given, settings
from hypothesis import strategies as st

from grpc_transcoder.errors import DescriptorError
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import HttpRule, RuleOrigin
from tests.conftest import LIBRARY_SET, ROOT

Field = descriptor_pb2.FieldDescriptorProto


def proto_file(
    name: str,
    *,
    package: str = "demo.v1",
    imports: Sequence[str] = (),
    messages: Sequence[str] = ("Thing",),
    field_type: str = "",
    service: str = "",
) -> descriptor_pb2.FileDescriptorProto:
    """A small file: messages with one string field (or a field of `field_type`), a service."""
    file = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    file.dependency.extend(imports)
    for message in messages:
        added = file.message_type.add(name=message)
        added.field.add(name="id", number=1, type=Field.TYPE_STRING, label=Field.LABEL_OPTIONAL)
        if field_type:
            added.field.add(
                name="ref", number=2, type=Field.TYPE_MESSAGE, type_name=field_type, label=1
            )
    if service:
        method = file.service.add(name=service).method.add(name="Get")
        method.input_type = method.output_type = f".{package}.{messages[0]}"
    return file


def blob(uri: str, *files: descriptor_pb2.FileDescriptorProto) -> Blob:
    return Blob(uri, descriptor_pb2.FileDescriptorSet(file=files).SerializeToString())


def problems_of(*blobs: Blob) -> tuple[str, ...]:
    with pytest.raises(DescriptorError) as caught:
        descriptors.build(blobs)
    return caught.value.problems


@pytest.fixture(scope="module")
def library_blob() -> Blob:
    return Blob(str(LIBRARY_SET), LIBRARY_SET.read_bytes())


def test_example_set_lists_every_service_and_method(library_blob: Blob) -> None:
    registry = descriptors.build([library_blob])
    assert registry.services == ("library.v1.LibraryService", "library.v1.DebugService")
    assert len(registry.methods) == 26
    info = registry.methods["/library.v1.LibraryService/GetLibraryInfo"]
    assert info.idempotent
    assert info.rules == ()
    stream = registry.methods["/library.v1.LibraryService/StreamBooks"]
    assert (stream.client_streaming, stream.server_streaming) == (False, True)
    assert stream.output.full_name == "library.v1.Book"
    assert "google/api/http.proto" in registry.files
    assert registry.version == descriptors.version_of([library_blob])


@pytest.mark.parametrize(
    ("method", "rules"),
    [
        pytest.param(
            "LibraryService/GetShelf", (HttpRule("GET", "/v1/{name=shelves/*}"),), id="get"
        ),
        pytest.param(
            "LibraryService/GetBookMetadata",
            (HttpRule("GET", "/v1/{name=shelves/*/books/*}/metadata", "", "metadata"),),
            id="response-body",
        ),
        pytest.param(
            "LibraryService/SearchBooks",
            (
                HttpRule("GET", "/v1/books:search"),
                HttpRule("POST", "/v1/books:search", "*", "", RuleOrigin.ADDITIONAL_BINDING),
                HttpRule(
                    "GET",
                    "/v1/{shelf=shelves/*}/books:search",
                    "",
                    "",
                    RuleOrigin.ADDITIONAL_BINDING,
                ),
            ),
            id="additional-bindings",
        ),
        pytest.param("DebugService/Ping", (HttpRule("*", "/v1/debug/ping"),), id="custom"),
    ],
)
def test_http_rules_are_flattened(
    library_blob: Blob, method: str, rules: tuple[HttpRule, ...]
) -> None:
    registry = descriptors.build([library_blob])
    assert registry.methods[f"/library.v1.{method}"].rules == rules


def test_message_classes_come_from_the_private_pool(library_blob: Blob) -> None:
    registry = descriptors.build([library_blob])
    shelf = registry.new_message("library.v1.Shelf")
    assert shelf.DESCRIPTOR.file.pool is registry.pool


# Run in a fresh interpreter: whether google.api.annotations_pb2 was imported before the set
# was parsed is exactly what must not matter.
_RULES_SCRIPT = """
import sys
if sys.argv[1] == "first":
    import google.api.annotations_pb2
from grpc_transcoder.loading import registry as descriptors, sources as descriptor_source
registry = descriptors.build(descriptor_source.read_all([sys.argv[2]]))
print(sorted((path, len(m.rules)) for path, m in registry.methods.items()))
"""


def test_http_rules_do_not_depend_on_import_order() -> None:
    outputs = {
        order: subprocess.run(
            [sys.executable, "-c", _RULES_SCRIPT, order, str(LIBRARY_SET)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for order in ("first", "never")
    }
    assert outputs["first"] == outputs["never"]
    assert "('/library.v1.LibraryService/GetShelf', 1)" in outputs["never"]


def test_standard_files_resolve_when_a_set_lacks_them() -> None:
    data = synthetic_set.generate(methods=12, message_types=30)
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    assert not any(f.name.startswith("google/") for f in fds.file)
    registry = descriptors.build([Blob("synthetic.binpb", data)])
    assert len(registry.methods) == 12
    assert all(m.rules for m in registry.methods.values())
    assert "google/protobuf/timestamp.proto" in registry.files


def test_several_sets_merge_into_one_pool(library_blob: Blob) -> None:
    other = blob("other.binpb", proto_file("demo/v1/demo.proto", service="Demo"))
    registry = descriptors.build([library_blob, other])
    assert registry.services[-1] == "demo.v1.Demo"
    assert registry.pool.FindMessageTypeByName("demo.v1.Thing")
    assert registry.pool.FindMessageTypeByName("library.v1.Book")


def test_identical_duplicates_are_fine(library_blob: Blob) -> None:
    # The same files once with and once without comments (source info) are the same files.
    stripped = descriptor_pb2.FileDescriptorSet.FromString(library_blob.data)
    for file in stripped.file:
        file.ClearField("source_code_info")
    again = Blob("copy.binpb", stripped.SerializeToString())
    registry = descriptors.build([library_blob, again])
    assert len(registry.methods) == 26
    assert registry.notes == ()


def test_conflicting_duplicates_name_the_file_and_both_sources() -> None:
    first = blob("s3://team-a/api.binpb", proto_file("shared.proto", service="Svc"))
    second = blob("s3://team-b/api.binpb", proto_file("shared.proto", messages=("Other",)))
    assert problems_of(first, second) == (
        "shared.proto: defined differently in s3://team-a/api.binpb and s3://team-b/api.binpb",
    )


def test_differing_copies_of_a_standard_file_are_a_note() -> None:
    changed = descriptor_pb2.FileDescriptorProto(
        name="google/protobuf/empty.proto", package="google.protobuf", syntax="proto3"
    )
    changed.message_type.add(name="Empty")
    changed.message_type.add(name="AddedByANewerProtoc")
    original = descriptor_pb2.FileDescriptorProto(
        name="google/protobuf/empty.proto", package="google.protobuf", syntax="proto3"
    )
    original.message_type.add(name="Empty")
    service = proto_file("svc.proto", imports=["google/protobuf/empty.proto"], service="Svc")
    registry = descriptors.build([blob("new.binpb", changed, service), blob("old.binpb", original)])
    assert registry.notes == (
        "google/protobuf/empty.proto: defined differently in new.binpb and old.binpb; "
        "using the copy from new.binpb",
        "old.binpb: defines no services (only types)",
    )
    assert registry.pool.FindMessageTypeByName("google.protobuf.AddedByANewerProtoc")


def test_a_missing_import_names_the_file_and_the_import() -> None:
    base = proto_file("base.proto", imports=["gone/types.proto"], messages=("Base",))
    top = proto_file("top.proto", imports=["base.proto"], service="Svc")
    # top.proto fails only because base.proto did: reported once, at its cause.
    assert problems_of(blob("api.binpb", base, top)) == (
        "base.proto (from api.binpb): import 'gone/types.proto' is not in any set",
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"{not protobuf", "not a serialized FileDescriptorSet", id="corrupt"),
        pytest.param(b"", "holds no files (is it a serialized FileDescriptorSet?)", id="empty"),
        pytest.param(
            descriptor_pb2.FileDescriptorSet(
                file=[descriptor_pb2.FileDescriptorProto(package="x")]
            ).SerializeToString(),
            "not a FileDescriptorSet (a file has no name)",
            id="nameless-file",
        ),
    ],
)
def test_unreadable_sets_name_the_uri(data: bytes, problem: str) -> None:
    (found,) = problems_of(Blob("s3://bucket/broken.binpb", data))
    assert found.startswith(f"s3://bucket/broken.binpb: {problem}")


def test_fields_a_tool_adds_to_the_set_are_skipped(library_blob: Blob) -> None:
    # buf adds extensions to FileDescriptorSet (field 536000000 and up); protoc adds none.
    extra = _varint(536000000 << 3 | 2) + _varint(3) + b"buf" + _varint(536000001 << 3) + b"\x07"
    registry = descriptors.build([Blob("with-extensions.binpb", extra + library_blob.data + extra)])
    assert registry.methods.keys() == descriptors.build([library_blob]).methods.keys()


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-3], id="truncated"),
        pytest.param(lambda data: b"\x00\x01" + data, id="field-number-0"),
        pytest.param(lambda data: b"\x0b" + data, id="group-wire-type"),
        pytest.param(lambda data: data + b"\x0a\xff", id="unfinished-length"),
    ],
)
def test_damaged_sets_are_not_read_in_part(
    library_blob: Blob, damage: Callable[[bytes], bytes]
) -> None:
    (found,) = problems_of(Blob("s3://bucket/damaged.binpb", damage(library_blob.data)))
    assert found.startswith("s3://bucket/damaged.binpb: not a serialized FileDescriptorSet (")


def test_a_set_without_services_is_an_error() -> None:
    assert problems_of(blob("types.binpb", proto_file("types.proto"))) == (
        "types.binpb: no services defined "
        "(build the set from the .proto files that declare the services)",
    )


def test_a_types_only_set_next_to_services_is_a_note() -> None:
    types = blob("types.binpb", proto_file("types.proto", package="t"))
    service = blob("api.binpb", proto_file("api.proto", service="Svc"))
    registry = descriptors.build([types, service])
    assert registry.notes == ("types.binpb: defines no services (only types)",)


def test_files_protobuf_rejects_are_named() -> None:
    bad = proto_file("bad.proto", field_type=".demo.v1.Nowhere", service="Svc")
    (found,) = problems_of(blob("api.binpb", bad))
    assert found.startswith("bad.proto (from api.binpb): rejected by protobuf (")


def test_an_import_cycle_is_reported() -> None:
    a = proto_file("a.proto", imports=["b.proto"], messages=("A",))
    b = proto_file("b.proto", imports=["a.proto"], messages=("B",), service="Svc")
    assert problems_of(blob("cycle.binpb", a, b)) == (
        "b.proto (from cycle.binpb): import cycle through 'a.proto'",
    )


def test_every_problem_of_one_pass_is_reported_together() -> None:
    found = problems_of(
        Blob("s3://b/corrupt.binpb", b"\xff\xff"),
        blob("missing.binpb", proto_file("m.proto", imports=["x.proto", "y.proto"])),
        blob("one.binpb", proto_file("dup.proto", service="A")),
        blob("two.binpb", proto_file("dup.proto", service="B")),
    )
    assert len(found) == 4
    assert found[0].startswith("s3://b/corrupt.binpb: not a serialized FileDescriptorSet")
    assert found[1] == "dup.proto: defined differently in one.binpb and two.binpb"
    assert found[2] == "m.proto (from missing.binpb): import 'x.proto' is not in any set"
    assert found[3] == "m.proto (from missing.binpb): import 'y.proto' is not in any set"


def test_the_error_message_counts_the_problems() -> None:
    error = DescriptorError(["a", "b"])
    assert str(error) == "2 problems in the descriptor sets: a; b"


def test_version_changes_with_the_bytes(library_blob: Blob) -> None:
    other = Blob(library_blob.uri, library_blob.data + b"\x00")
    assert descriptors.version_of([library_blob]) != descriptors.version_of([other])
    assert descriptors.version_of([library_blob]) == descriptors.version_of(
        [Blob("elsewhere", library_blob.data)]
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_build_or_raise_the_documented_error(data: bytes) -> None:
    problems: tuple[str, ...] = ()
    try:
        registry = descriptors.build([Blob("fuzz.binpb", data)])
    except DescriptorError as exc:
        problems = exc.problems
    else:
        assert registry.services
        return
    assert problems
    assert all(problem.startswith("fuzz.binpb: ") for problem in problems)


def test_a_rule_without_a_pattern_is_ignored() -> None:
    file = proto_file("api.proto", service="Svc")
    rule = file.service[0].method[0].options.Extensions[annotations_pb2.http]
    rule.body = "*"
    registry = descriptors.build([blob("api.binpb", file)])
    assert registry.methods["/demo.v1.Svc/Get"].rules == ()
    assert registry.methods["/demo.v1.Svc/Get"].full_name == "demo.v1.Svc/Get"
