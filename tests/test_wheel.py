"""The built wheel works outside the checkout: installed with its tools extra into a fresh
virtual environment, `grpc-transcoder` serves the example API and prints an OpenAPI document
from the set the wheel carries; the package is typed and licensed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

UV = ROOT / ".tools" / "bin" / "uv"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin directory, with the wheel and its tools extra installed."""
    uv = str(UV) if UV.exists() else shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build the wheel (./tasks test sets it up)")
    scratch = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_NO_PROGRESS": "1", "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(scratch / "dist"), "-q"],
        cwd=ROOT,
        check=True,
        env=env,
    )
    (wheel,) = (scratch / "dist").glob("grpc_transcoder-*.whl")
    venv = scratch / "venv"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True, env=env)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), f"{wheel}[tools]"],
        check=True,
        env=env,
    )
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_wheel_is_typed_licensed_and_carries_the_example_set(
    installed: Path, tmp_path: Path
) -> None:
    probe = (
        "import json, pathlib, grpc_transcoder, grpc_transcoder_tools\n"
        "from importlib import metadata\n"
        "package = pathlib.Path(grpc_transcoder.__file__).parent\n"
        "tools = pathlib.Path(grpc_transcoder_tools.__file__).parent\n"
        "print(json.dumps([(package / 'py.typed').is_file(),\n"
        "  (tools / 'data' / 'library.binpb').is_file(),\n"
        "  metadata.metadata('grpc-transcoder')['License-Expression'],\n"
        "  any(f.name == 'LICENSE' for f in metadata.files('grpc-transcoder'))]))\n"
    )
    done = run(installed, "python", "-c", probe, cwd=tmp_path)
    assert json.loads(done.stdout) == [True, True, "Apache-2.0", True], done.stderr
    version = run(installed, "grpc-transcoder", "--version", cwd=tmp_path)
    assert version.stdout.strip() == "grpc-transcoder 0.1.0"


def test_openapi_and_serve_run_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    carried = run(
        installed,
        "python",
        "-c",
        "from grpc_transcoder_tools import example_backend; print(example_backend.DEFAULT_DESCRIPTORS)",
        cwd=tmp_path,
    ).stdout.strip()
    assert str(ROOT) not in carried  # no path into the checkout
    document = run(installed, "grpc-transcoder", "openapi", carried, cwd=tmp_path)
    assert document.returncode == 0, document.stderr
    assert "/v1/shelves" in json.loads(document.stdout)["paths"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(installed / "grpc-transcoder"), "serve", "--port", str(port), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        shelves = _get_when_up(f"http://127.0.0.1:{port}/v1/shelves")
        assert [shelf["name"] for shelf in shelves["shelves"]][:1] == ["shelves/fiction"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def _get_when_up(url: str) -> dict[str, list[dict[str, str]]]:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
                found: dict[str, list[dict[str, str]]] = json.loads(answer.read())
                return found
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
