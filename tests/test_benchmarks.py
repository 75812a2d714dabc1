"""The benchmark command runs end to end on tiny counts (no timing is asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys

from grpc_transcoder_tools.package_target import find_python

from tests.conftest import ROOT


def test_the_benchmark_command_prints_every_section() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "warm,cold,codec,routing,compression",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in ("### Warm overhead", "### Cold start", "### Codec", "### Routing"):
        assert heading in done.stdout, done.stdout
    assert "| GET /v1/shelves/fiction" in done.stdout
    assert "| example set |" in done.stdout
    sizes = dict(re.findall(r"^\| (uncompressed|gzip) \| ([\d,]+) \|", done.stdout, re.M))
    assert int(sizes["gzip"].replace(",", "")) * 3 < int(sizes["uncompressed"].replace(",", ""))
    # The built package starts with the runtime's Python, where this machine has one.
    if find_python("3.13", required=False):
        assert "| example set, built package (" in done.stdout
    else:
        assert "The built package was not measured: no CPython 3.13" in done.stdout


def test_an_unknown_section_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown sections: nonsense" in done.stderr


def test_where_the_time_goes_prints_its_breakdowns() -> None:
    for what, expected in (
        ("warm", ("handler, canned answer (own code)", "transcoder", "grpc")),
        ("cold", ("the transcoder's modules", "status                           200")),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.where_time_goes", what, "--quick"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        for text in expected:
            assert text in done.stdout, done.stdout
