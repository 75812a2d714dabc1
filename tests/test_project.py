"""The repository's own artefacts: committed descriptor sets, the lock export, the README table."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from grpc_transcoder_tools.committed_sets import ROOT, SETS, CommittedSet


@pytest.mark.parametrize("committed", [pytest.param(s, id=s.output) for s in SETS])
def test_committed_descriptor_set_matches_a_fresh_build(committed: CommittedSet) -> None:
    stored = (ROOT / committed.output).read_bytes()
    assert stored == committed.fresh(), f"{committed.output} is stale: run ./tasks descriptors"


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert os.path.exists(uv), "uv not found; run the tests through ./tasks test"
    return uv


def test_lambda_requirements_match_the_lock_file() -> None:
    exported = subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-header",
            "--no-hashes",
            "--format",
            "requirements-txt",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (ROOT / "src" / "requirements.txt").read_text()
    assert committed == exported, "src/requirements.txt drifted from uv.lock: run ./tasks lock"


def test_readme_settings_table_is_current() -> None:
    from grpc_transcoder_tools import settings_doc

    readme = settings_doc.README.read_text()
    assert settings_doc.render(readme) == readme, "the settings table is stale: run ./tasks docs"


def test_the_compatibility_page_names_only_real_settings() -> None:
    import re

    from grpc_transcoder import settings

    page = (ROOT / "docs" / "compatibility.md").read_text()
    named = set(re.findall(r"TRANSCODER_[A-Z_]+", page))
    assert named, "the page names the settings that change each behaviour"
    assert named <= settings.NAMES, named - settings.NAMES
