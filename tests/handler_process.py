"""The Lambda handler in a child process, for freeze/thaw tests (SIGSTOP/SIGCONT freeze it whole).

Run as `python -m tests.handler_process '<settings JSON>'`. Each stdin line is a Lambda event
(JSON); each stdout line answers it: `{"response": ..., "elapsed_ms": ...}`. Channels and
their connections live across events, as in a warm Lambda execution environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from grpc_transcoder_tools.local_server import LambdaContext

    from grpc_transcoder import settings
    from grpc_transcoder.lambda_handler import make_handler
    from grpc_transcoder.loading.runtime import Runtime

    # Answers go to the original stdout; anything else the handler prints (logs) to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    overrides = json.loads(sys.argv[1])
    overrides = {k: tuple(map(tuple, v)) if k == "backends" else v for k, v in overrides.items()}
    overrides["descriptors"] = tuple(overrides["descriptors"])
    handler: Callable[[Any, Any], dict[str, Any]] = make_handler(
        Runtime(lambda: settings.load({}, **overrides))
    )
    print(json.dumps({"ready": True}), file=answers, flush=True)
    for line in sys.stdin:
        started = time.monotonic()
        response = handler(json.loads(line), LambdaContext(timeout_ms=10_000))
        elapsed = (time.monotonic() - started) * 1000
        print(json.dumps({"response": response, "elapsed_ms": elapsed}), file=answers, flush=True)


class HandlerProcess:
    """The parent's side: start the child, send events, freeze and thaw it."""

    def __init__(self, **overrides: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.handler_process", json.dumps(overrides)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert json.loads(self._readline()) == {"ready": True}

    def _readline(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the handler process exited with {self.process.poll()}"
        return line

    def call(self, event: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """The handler's response to `event` and how long the handler took (ms)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self._readline())
        return answer["response"], answer["elapsed_ms"]

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)  # every thread stops, as in a frozen Lambda

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.thaw()
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


if __name__ == "__main__":
    main()
