"""The `descriptors build|fetch|check` commands, run in-process as a user runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from grpc_transcoder_tools import cli, example_backend

from grpc_transcoder.loading import s3 as descriptor_s3
from tests.conftest import LIBRARY_SET, ROOT

GREETER = """
syntax = "proto3";
package greet.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
service Greeter {
  rpc Hello(HelloRequest) returns (HelloReply) {
    option (google.api.http) = {get: "/v1/hello/{name}"};
  }
}
message HelloRequest { string name = 1; }
message HelloReply { string text = 1; google.protobuf.Timestamp at = 2; }
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["descriptors", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRANSCODER_DESCRIPTORS", "TRANSCODER_BACKENDS"):
        monkeypatch.delenv(name, raising=False)


# -- check ----------------------------------------------------------------------------------


def test_check_prints_services_methods_and_routes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", str(LIBRARY_SET))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("descriptors ")
    assert ": 12 files (+6 bundled), 2 services, 26 methods, " in lines[0]
    service = lines.index("library.v1.LibraryService")
    assert lines[service + 1 : service + 4] == [
        "  ListShelves",
        "    GET /v1/shelves",
        "    POST /library.v1.LibraryService/ListShelves (default route)",
    ]
    assert "    POST /v1/shelves (body: shelf)" in lines
    assert "    GET /v1/{name=shelves/*/books/*}/metadata (response_body: metadata)" in lines
    assert "  Chat (client and server streaming)" in lines
    assert lines[-1] == "no problems"


def test_check_reads_the_sources_the_function_is_configured_with(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSCODER_DESCRIPTORS", str(LIBRARY_SET))
    status, out, _ = run(capsys, "check")
    assert status == 0
    assert "library.v1.DebugService" in out.splitlines()


def test_check_lists_every_problem_and_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.binpb"
    corrupt.write_bytes(b"\xff\xff")
    status, out, _ = run(capsys, "check", str(corrupt), str(tmp_path / "missing.binpb"))
    assert status == 1
    lines = out.splitlines()
    # The set that could be read is checked too: one report holds every problem.
    assert lines[0] == "cannot load the descriptor sets (2 problems):"
    assert lines[1] == f"  {tmp_path / 'missing.binpb'}: cannot read (No such file or directory)"
    assert lines[2].startswith(f"  {corrupt}: not a serialized FileDescriptorSet")


def test_check_reports_invalid_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSCODER_DESCRIPTORS_TTL", "later")
    status, out, _ = run(capsys, "check", str(LIBRARY_SET))
    assert status == 1
    assert out.splitlines() == [
        "invalid settings (1 problem):",
        "  TRANSCODER_DESCRIPTORS_TTL: expected a number, got 'later'",
    ]


def write_set(path: Path, *files: descriptor_pb2.FileDescriptorProto) -> Path:
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=files).SerializeToString())
    return path


def test_check_fails_on_rules_that_cannot_be_routed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = descriptor_pb2.FileDescriptorProto(name="api.proto", package="p", syntax="proto3")
    file.message_type.add(name="M")
    method = file.service.add(name="S").method.add(name="Get")
    method.input_type = method.output_type = ".p.M"
    method.options.Extensions[annotations_pb2.http].get = "/v1/{missing}"
    status, out, _ = run(capsys, "check", str(write_set(tmp_path / "api.binpb", file)))
    assert status == 1
    lines = out.splitlines()
    assert lines[-2] == "problems (1 problem):"
    assert lines[-1].startswith("  route skipped: p.S/Get: GET '/v1/{missing}'")


def test_check_fails_when_a_configured_backend_map_misses_a_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSCODER_BACKENDS", '{"library.v1.LibraryService": "lib:50051"}')
    status, out, _ = run(capsys, "check", str(LIBRARY_SET))
    assert status == 1
    assert out.splitlines()[-1] == "  no backend configured for: library.v1.DebugService"


def test_check_prints_notes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    types = descriptor_pb2.FileDescriptorProto(name="t.proto", package="t", syntax="proto3")
    types.message_type.add(name="T")
    path = write_set(tmp_path / "types.binpb", types)
    status, out, _ = run(capsys, "check", str(LIBRARY_SET), str(path))
    assert status == 0
    assert f"note: {path}: defines no services (only types)" in out.splitlines()


def test_check_reads_s3_like_the_function(
    capsys: pytest.CaptureFixture[str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(descriptor_s3, "_client", None)
    s3.create_bucket(Bucket="deploy-check")
    s3.put_object(Bucket="deploy-check", Key="sets/library.binpb", Body=LIBRARY_SET.read_bytes())
    status, out, _ = run(capsys, "check", "s3://deploy-check/sets/")
    assert status == 0
    assert out.splitlines()[-1] == "no problems"


# -- build ----------------------------------------------------------------------------------


def test_build_reproduces_the_committed_example_set(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_path = tmp_path / "library.binpb"
    proto = ROOT / "descriptors" / "library" / "v1" / "library.proto"
    status, out, _ = run(
        capsys, "build", str(proto), "-I", str(ROOT / "descriptors"), "-o", str(out_path)
    )
    assert status == 0
    assert out == f"wrote {out_path}: 12 files, 2 services, 26 methods\n"
    assert out_path.read_bytes() == LIBRARY_SET.read_bytes()


def test_build_finds_google_api_without_fetching_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("greeter.proto").write_text(GREETER)
    status, _, _ = run(capsys, "build", "greeter.proto", "-o", "greeter.binpb", "--no-source-info")
    assert status == 0
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path("greeter.binpb").read_bytes())
    assert "google/api/http.proto" in [f.name for f in fds.file]
    assert not any(f.HasField("source_code_info") for f in fds.file)
    status, out, _ = run(capsys, "check", "greeter.binpb")
    assert status == 0
    assert "    GET /v1/hello/{name}" in out.splitlines()


def test_build_shows_protoc_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.proto").write_text('syntax = "proto3";\nmessage Broken { strin name = 1; }\n')
    status, _, err = run(capsys, "build", "broken.proto", "-o", "broken.binpb")
    assert status == 1
    assert err.startswith("grpc-transcoder descriptors build: protoc failed:\n")
    assert "broken.proto:2" in err
    assert not Path("broken.binpb").exists()


# -- fetch ----------------------------------------------------------------------------------


def test_fetch_writes_a_set_that_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: example_backend.RunningBackend
) -> None:
    out_path = tmp_path / "fetched.binpb"
    status, out, _ = run(
        capsys, "fetch", "--reflection", backend.target, "-o", str(out_path), "--timeout", "5"
    )
    assert status == 0
    assert out.splitlines() == [
        f"wrote {out_path}: 12 files, 2 services, 26 methods "
        f"(server reflection v1 of {backend.target})",
        "left out (use --service to include): grpc.health.v1.Health, "
        "grpc.reflection.v1.ServerReflection, grpc.reflection.v1alpha.ServerReflection",
    ]
    status, out, _ = run(capsys, "check", str(out_path))
    assert status == 0


def test_fetch_of_one_service(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: example_backend.RunningBackend
) -> None:
    out_path = tmp_path / "debug.binpb"
    status, out, _ = run(
        capsys,
        "fetch",
        "--reflection",
        backend.target,
        "--service",
        example_backend.DEBUG,
        "-o",
        str(out_path),
    )
    assert status == 0
    assert "library.v1.LibraryService" in out.splitlines()[1]


def test_fetch_failures_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(
        capsys, "fetch", "--reflection", "127.0.0.1:1", "-o", str(tmp_path / "x"), "--timeout", "2"
    )
    assert status == 1
    assert out == ""
    assert err.startswith("grpc-transcoder descriptors fetch: 127.0.0.1:1: reflection v1 failed: ")
    assert not (tmp_path / "x").exists()


def test_build_and_check_count_the_files_of_a_set_alike(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "library.binpb"
    proto = "library/v1/library.proto"
    assert (
        cli.main(
            ["descriptors", "build", proto, "-I", str(ROOT / "descriptors"), "-o", str(output)]
        )
        == 0
    )
    built = capsys.readouterr().out
    assert cli.main(["descriptors", "check", str(output)]) == 0
    checked = capsys.readouterr().out.splitlines()[0]
    count = built.split(": ")[1].split(" files")[0]
    assert f": {count} files (+" in checked, (built, checked)
