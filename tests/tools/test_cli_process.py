"""The installed `grpc-transcoder` command as a user runs it: --version, and failures that end
with one clear line on stderr (a busy port, a reader that goes away, a missing file)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from grpc_transcoder_tools import synthetic_set

from tests.conftest import LIBRARY_SET, ROOT

COMMAND = [sys.executable, "-m", "grpc_transcoder_tools.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout.strip()) == (
        0,
        f"grpc-transcoder {metadata.version('grpc-transcoder')}",
    )


@pytest.mark.parametrize("command", ["serve", "example-backend"])
def test_a_busy_port_is_one_line(command: str, busy_port: int) -> None:
    done = run(command, "--port", str(busy_port))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "port is already in use" in last


def test_a_reader_that_goes_away_is_no_error(tmp_path: Path) -> None:
    # Far more than a pipe buffer of routes, so the writer meets the closed pipe.
    big = tmp_path / "big.binpb"
    big.write_bytes(synthetic_set.generate(methods=2000, message_types=200))
    pipeline = subprocess.run(  # noqa: S602 - a fixed pipeline of our own command
        f"{' '.join(COMMAND)} routes {big} | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pipeline.stdout.startswith("HTTP")
    assert pipeline.stderr == ""


def test_a_missing_file_is_one_line() -> None:
    done = run("descriptors", "check", "/nonexistent/api.binpb")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "/nonexistent/api.binpb: cannot read (No such file or directory)" in done.stdout
    written = run("openapi", str(LIBRARY_SET), "-o", "/nonexistent/dir/api.json")
    assert written.returncode == 2
    assert written.stderr.strip() == (
        "grpc-transcoder: /nonexistent/dir/api.json: No such file or directory"
    )


def test_tasks_without_a_command_prints_its_help() -> None:
    helped = subprocess.run(
        ["./tasks"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert (helped.returncode, helped.stderr) == (0, "")
    assert "./tasks test" in helped.stdout
    assert "#" not in helped.stdout
    unknown = subprocess.run(
        ["./tasks", "tset"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("unknown command: tset\n")
