"""synthetic_set: large valid sets of an exact size, loaded and routed like real ones."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_transcoder_tools import synthetic_set

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry, RuleOrigin
from grpc_transcoder.routing import table as routing


def message_types(fds: descriptor_pb2.FileDescriptorSet) -> int:
    return sum(len(file.message_type) for file in fds.file)


def load(data: bytes) -> Registry:
    return descriptors.build([Blob("synthetic.binpb", data)])


def test_the_benchmark_size_loads_and_routes_without_problems() -> None:
    data = synthetic_set.generate()
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    assert message_types(fds) == 5000
    registry = load(data)
    assert len(registry.methods) == 2000
    assert len(registry.services) == 100
    routes, problems = routing.routes_for(registry, default_routes=False)
    assert problems == []
    # Six methods per resource, one of them with an additional binding.
    assert len(routes) == 2000 + 2000 // 6


@pytest.mark.parametrize(
    ("methods", "types", "per_service"),
    [
        pytest.param(1, 3, 20, id="smallest"),
        pytest.param(7, 20, 3, id="uneven-services"),
        pytest.param(13, 600, 20, id="several-type-files"),
        pytest.param(40, 10, 20, id="types-shared-by-methods"),
    ],
)
def test_sizes_are_exact(methods: int, types: int, per_service: int) -> None:
    data = synthetic_set.generate(
        methods=methods, message_types=types, methods_per_service=per_service
    )
    assert message_types(descriptor_pb2.FileDescriptorSet.FromString(data)) == types
    registry = load(data)
    assert len(registry.methods) == methods
    assert len(registry.services) == -(-methods // per_service)


def test_every_rule_form_appears() -> None:
    registry = load(synthetic_set.generate(methods=6, message_types=20))
    rules = [rule for method in registry.methods.values() for rule in method.rules]
    assert Counter(rule.method for rule in rules) == {
        "GET": 2,
        "POST": 2,
        "PATCH": 1,
        "DELETE": 1,
        "HEAD": 1,
    }
    assert {rule.body for rule in rules} == {"", "*", "child"}
    assert [r.origin for r in rules].count(RuleOrigin.ADDITIONAL_BINDING) == 1


def test_the_output_is_deterministic() -> None:
    assert synthetic_set.generate(methods=30, message_types=90) == synthetic_set.generate(
        methods=30, message_types=90
    )


def test_standard_files_are_left_to_the_bundle() -> None:
    fds = synthetic_set.build(methods=3, message_types=10)
    assert not [file.name for file in fds.file if file.name.startswith("google/")]


@pytest.mark.parametrize(
    ("methods", "types"),
    [pytest.param(0, 10, id="no-methods"), pytest.param(5, 2, id="too-few-types")],
)
def test_impossible_sizes_are_refused(methods: int, types: int) -> None:
    with pytest.raises(ValueError, match="synthetic set"):
        synthetic_set.generate(methods=methods, message_types=types)


def test_the_command_writes_a_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "big.binpb"
    assert synthetic_set.main(["--methods", "12", "--message-types", "40", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} ({out.stat().st_size:,} bytes)\n"
    assert len(load(out.read_bytes()).methods) == 12


def test_the_command_rejects_impossible_sizes(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        synthetic_set.main(["--methods", "0", "-o", str(tmp_path / "x")])
    assert caught.value.code == 2
