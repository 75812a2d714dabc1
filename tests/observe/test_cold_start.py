"""Cold start: the one line a container logs at init, in a fresh process as Lambda runs it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest

from grpc_transcoder.observe import access_log, cold_start
from grpc_transcoder.observe.access_log import AccessLog, LogFormat
from tests.conftest import LIBRARY_SET, ROOT, runtime_for
from tests.observe.test_access_log import FakeClock


def cold_start_lines(**environ: str) -> list[dict[str, Any]]:
    """Import the handler module in a fresh process, as Lambda does; its JSON log lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSCODER_")}
    env.update(environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tools")]))
    done = subprocess.run(
        [sys.executable, "-c", "import grpc_transcoder.lambda_handler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # A bare process gets the handler of configure_logging: "LEVEL logger: message".
    prefix = f"{access_log.ACCESS_LOGGER}: "
    lines = (line.partition(" ")[2] for line in done.stderr.splitlines())
    return [json.loads(line[len(prefix) :]) for line in lines if line.startswith(prefix)]


def test_cold_start_line_says_what_was_loaded_and_how_long_it_took() -> None:
    (line,) = cold_start_lines(
        TRANSCODER_DESCRIPTORS=str(LIBRARY_SET), TRANSCODER_BACKENDS="127.0.0.1:50051"
    )
    assert line["event"] == "cold_start"
    assert line["ready"] is True
    assert line["sources"] == [str(LIBRARY_SET)]
    assert line["services"] == ["library.v1.LibraryService", "library.v1.DebugService"]
    assert line["methods"] == 26
    assert line["routes"] > 26
    assert line["files"] > 1
    assert line["backends"] == ["*=127.0.0.1:50051"]
    assert line["settingsMs"] >= 0
    assert line["loadMs"] > 0
    assert line["totalMs"] >= line["loadMs"]
    assert line["descriptorsVersion"]
    assert line["logLevel"] == "INFO"


def test_cold_start_failure_is_one_warning_line() -> None:
    (line,) = cold_start_lines(TRANSCODER_DESCRIPTORS="/nowhere/at/all.binpb")
    assert line["ready"] is False
    assert "/nowhere/at/all.binpb" in line["error"]


def test_log_level_setting_applies_from_the_cold_start() -> None:
    assert (
        cold_start_lines(TRANSCODER_DESCRIPTORS=str(LIBRARY_SET), TRANSCODER_LOG_LEVEL="ERROR")
        == []
    )


def test_step_timer_records_each_step_even_when_it_fails() -> None:
    timer = cold_start.StepTimer(clock=FakeClock(0.0, 0.001, 0.003, 0.004, 0.009, 0.010))

    def broken() -> None:
        raise ValueError("no")

    assert timer.timed("settings", lambda: 42)() == 42
    with pytest.raises(ValueError, match="no"):
        timer.timed("load", broken)()
    assert timer.steps() == (("settings", 2.0), ("load", 5.0))
    assert timer.total_ms() == 10.0


@pytest.mark.parametrize(
    "ready", [pytest.param(True, id="ready"), pytest.param(False, id="failed")]
)
def test_cold_start_record(ready: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=access_log.ACCESS_LOGGER)
    transcoder = None
    if ready:
        runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", "127.0.0.1:1"),))
        transcoder = runtime.load()
    timer = cold_start.StepTimer(clock=FakeClock(0.0, 0.0, 0.004, 0.005))
    timer.timed("load", lambda: None)()
    record = cold_start.ColdStart.of(transcoder, timer, log_level="INFO", error="broken set")
    AccessLog(log_format=LogFormat.JSON).cold_start(record)
    (logged,) = [r for r in caplog.records if r.name == access_log.ACCESS_LOGGER]
    fields: dict[str, Any] = vars(logged)
    assert fields["event"] == "cold_start"
    assert (fields["ready"], fields["loadMs"], fields["totalMs"]) == (ready, 4.0, 5.0)
    if ready:
        assert logged.levelno == logging.INFO
        assert logged.getMessage().startswith("cold start in 5.0 ms: 2 services, 26 methods")
        assert fields["backends"] == ["*=127.0.0.1:1"]
        assert fields["error"] == ""
    else:
        assert logged.levelno == logging.WARNING
        assert logged.getMessage() == "cold start in 5.0 ms, not ready: broken set"
        assert fields["services"] == []
