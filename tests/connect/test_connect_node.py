"""Connect for Node.js (@connectrpc/connect-node, pinned in tools/connect-node-client and set
up by `./tasks test`) against the local server: the services read from the descriptor set at run
time, in JSON and binary, unary calls, errors, GET and server streams."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LIBRARY_SET

CLIENT = Path(__file__).resolve().parents[2] / "tools" / "connect-node-client"


@pytest.fixture(scope="module")
def answers(connect_url: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (CLIENT / "node_modules").is_dir():
        pytest.fail("node and tools/connect-node-client/node_modules are needed: run ./tasks test")
    run = subprocess.run(
        [node, str(CLIENT / "client.mjs"), connect_url, str(LIBRARY_SET)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    return {line.pop("name"): line for line in lines}


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_unary_calls_and_errors(answers: dict[str, Any], codec: str) -> None:
    shelf = answers[f"{codec} unary"]
    assert shelf["ok"], shelf
    assert shelf["value"]["theme"] == "Fiction"
    assert answers[f"{codec} not found"] == {
        "ok": False,
        "code": "NotFound",
        "message": "shelf 'shelves/none' not found",
        "details": [],
    }
    failed = answers[f"{codec} failure with details"]
    assert (failed["code"], failed["message"]) == ("FailedPrecondition", "on purpose")


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_get_and_server_streams(answers: dict[str, Any], codec: str) -> None:
    assert answers[f"{codec} get"]["value"]["name"] == "Example library"
    assert answers[f"{codec} stream"] == {"ok": True, "value": [0, 1, 2]}
    assert answers[f"{codec} stream failing"]["value"] == {
        "items": [0, 1],
        "code": "Unavailable",
        "message": "failed after 2 messages",
    }
