"""A descriptor set built by Buf (the `buf-bin` CLI from PyPI) loads and routes like the
committed one that `grpc-transcoder descriptors build` makes.

The Buf module is the example API's sources plus the google/api files that
googleapis-common-protos ships (the Buf Schema Registry, where `buf.build/googleapis/googleapis`
lives, is not reachable from the tests); Buf supplies the well-known types itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.api import annotations_pb2  # type: ignore[import-untyped]

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing.table import routes_for
from tests.conftest import LIBRARY_SET, ROOT

BUF = Path(sys.executable).parent / "buf"
GOOGLE_API = Path(annotations_pb2.__file__).parent
GOOGLE_API_FILES = ("annotations.proto", "http.proto", "httpbody.proto")


@pytest.fixture(scope="module")
def buf_set(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    workspace = tmp_path_factory.mktemp("buf")
    (workspace / "buf.yaml").write_text("version: v2\nmodules:\n  - path: proto\n")
    shutil.copytree(ROOT / "descriptors" / "library", workspace / "proto" / "library")
    (workspace / "proto" / "google" / "api").mkdir(parents=True)
    for name in GOOGLE_API_FILES:
        shutil.copy(GOOGLE_API / name, workspace / "proto" / "google" / "api" / name)
    output = workspace / "library.binpb"
    subprocess.run(
        [str(BUF), "build", "-o", str(output)],
        cwd=workspace,
        check=True,
        capture_output=True,
        timeout=60,
        env={"HOME": str(workspace), "BUF_CACHE_DIR": str(workspace / ".cache")},
    )
    return descriptors.build([Blob(str(output), output.read_bytes())])


def test_a_buf_built_set_has_the_same_methods_and_rules(buf_set: Registry) -> None:
    committed = descriptors.build([Blob(str(LIBRARY_SET), LIBRARY_SET.read_bytes())])
    assert buf_set.services == committed.services
    assert buf_set.methods.keys() == committed.methods.keys()
    for path, method in committed.methods.items():
        assert buf_set.methods[path].rules == method.rules, path
        assert buf_set.methods[path].no_side_effects == method.no_side_effects, path


def test_a_buf_built_set_routes_the_same(buf_set: Registry) -> None:
    committed = descriptors.build([Blob(str(LIBRARY_SET), LIBRARY_SET.read_bytes())])

    def table(registry: Registry) -> list[tuple[str, str, str]]:
        routes, problems = routes_for(registry)
        assert problems == []
        return sorted((r.http_method, r.template.text, r.method.full_name) for r in routes)

    assert table(buf_set) == table(committed)
