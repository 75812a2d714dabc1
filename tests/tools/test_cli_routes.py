"""`grpc-transcoder routes`: the effective route table, overlaps and problems of descriptor sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grpc_transcoder_tools import cli

from tests.conftest import LIBRARY_SET
from tests.support import compile_set

BAD_PROTO = """
syntax = "proto3";
package bad.v1;
import "google/api/annotations.proto";

message Req { string name = 1; repeated string tags = 2; }
service Things {
  rpc Get(Req) returns (Req) { option (google.api.http) = { get: "/v1/{name=things/*}" }; }
  rpc Special(Req) returns (Req) { option (google.api.http) = { get: "/v1/things/special" }; }
  rpc Tags(Req) returns (Req) { option (google.api.http) = { get: "/v1/tags/{tags}" }; }
  rpc Broken(Req) returns (Req) { option (google.api.http) = { post: "/v1/{name" body: "*" }; }
}
"""


@pytest.fixture(autouse=True)
def _no_route_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSCODER_DEFAULT_ROUTES", raising=False)
    monkeypatch.delenv("TRANSCODER_DEFAULT_ROUTES_FOR_ANNOTATED", raising=False)


@pytest.fixture(scope="module")
def bad_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_set(tmp_path_factory.mktemp("bad"), BAD_PROTO, "bad")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["routes", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_example_set_prints_every_route_and_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, str(LIBRARY_SET))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "HTTP",
        "TEMPLATE",
        "BODY",
        "RESPONSE_BODY",
        "GRPC",
        "METHOD",
        "ORIGIN",
    ]
    rows = {tuple(line.split()) for line in lines[1:]}
    assert (
        "GET",
        "/v1/{name=shelves/*/books/*}/metadata",
        "-",
        "metadata",
        "library.v1.LibraryService/GetBookMetadata",
        "annotation",
    ) in rows
    assert (
        "POST",
        "/v1/books:search",
        "*",
        "-",
        "library.v1.LibraryService/SearchBooks",
        "additional_binding",
    ) in rows
    assert ("*", "/v1/debug/ping", "-", "-", "library.v1.DebugService/Ping", "annotation") in rows
    assert (
        "POST",
        "/library.v1.LibraryService/GetLibraryInfo",
        "*",
        "-",
        "library.v1.LibraryService/GetLibraryInfo",
        "default",
    ) in rows
    assert "53 routes for 26 gRPC methods." in lines
    assert "No templates overlap." in lines
    assert "No problems: every rule is routed." in lines


def test_annotated_routes_come_before_default_routes(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(LIBRARY_SET))
    origins = [line.split()[-1] for line in out.splitlines()[1:54]]
    assert origins == sorted(origins, key=lambda origin: origin == "default")


@pytest.mark.parametrize(
    ("args", "environment", "count"),
    [
        pytest.param((), {}, 53, id="defaults"),
        pytest.param(("--no-default-routes",), {}, 27, id="flag-off"),
        pytest.param(("--no-default-routes-for-annotated",), {}, 28, id="only-unannotated"),
        pytest.param((), {"TRANSCODER_DEFAULT_ROUTES": "false"}, 27, id="setting-off"),
        pytest.param(
            ("--default-routes",), {"TRANSCODER_DEFAULT_ROUTES": "false"}, 53, id="flag-wins"
        ),
    ],
)
def test_default_routes_follow_the_settings_and_flags(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    environment: dict[str, str],
    count: int,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    status, out, _ = run(capsys, *args, str(LIBRARY_SET))
    assert status == 0
    assert f"{count} routes for 26 gRPC methods." in out.splitlines()


def test_problems_and_overlaps_are_listed_and_exit_one(
    capsys: pytest.CaptureFixture[str], bad_set: Path
) -> None:
    status, out, _ = run(capsys, "--no-default-routes", str(bad_set))
    assert status == 1
    lines = out.splitlines()
    assert "2 routes for 4 gRPC methods." in lines
    assert (
        "  GET /v1/things/special before GET /v1/{name=things/*}, e.g. /v1/things/special" in lines
    )
    assert "Problems (2 rules not routed):" in lines
    assert (
        "  bad.v1.Things/Tags: GET '/v1/tags/{tags}' (annotation): variable {tags}:"
        " 'tags' is a repeated field; a path variable binds one value"
    ) in lines
    assert any(line.startswith("  bad.v1.Things/Broken: POST '/v1/{name'") for line in lines)


def test_json_output(capsys: pytest.CaptureFixture[str], bad_set: Path) -> None:
    status, out, _ = run(capsys, "--json", "--no-default-routes", str(bad_set))
    assert status == 1
    document = json.loads(out)
    assert document["routes"][0] == {
        "http_method": "GET",
        "template": "/v1/things/special",
        "body": None,
        "response_body": None,
        "grpc_method": "bad.v1.Things/Special",
        "origin": "annotation",
    }
    assert document["overlaps"] == [
        {
            "first": "GET /v1/things/special",
            "second": "GET /v1/{name=things/*}",
            "example": "/v1/things/special",
        }
    ]
    assert [p["grpc_method"] for p in document["problems"]] == [
        "bad.v1.Things/Tags",
        "bad.v1.Things/Broken",
    ]
    assert document["problems"][1]["reason"].startswith("invalid template: column 10:")


def test_descriptors_that_cannot_load_exit_two(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.binpb"
    status, out, err = run(capsys, str(missing))
    assert status == 2
    assert out == ""
    assert err.startswith("grpc-transcoder routes: ")
    assert "missing.binpb" in err


def test_bad_settings_exit_two(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSCODER_DEFAULT_ROUTES", "maybe")
    status, _, err = run(capsys, str(LIBRARY_SET))
    assert status == 2
    assert "TRANSCODER_DEFAULT_ROUTES: expected true or false" in err


def test_sources_default_to_the_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSCODER_DESCRIPTORS", str(LIBRARY_SET))
    status, out, _ = run(capsys)
    assert status == 0
    assert "routes for 26 gRPC methods" in out
