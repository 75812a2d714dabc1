"""The Lambda entry point: `grpc_transcoder.lambda_handler.handler`.

Cold start (module import) reads the settings, loads the descriptor sets and compiles the
routes once per container; a failure there is remembered and answered as 503 instead of
crashing the import, and retried on later invocations.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from grpc_transcoder import settings
from grpc_transcoder.app import create_app
from grpc_transcoder.errors import NotReadyError
from grpc_transcoder.runtime import Runtime

logger = logging.getLogger(__name__)


def make_handler(runtime: Runtime) -> Mangum:
    """Mangum around the app. `lifespan="off"`: Mangum would run it on every invocation."""
    return Mangum(
        create_app(runtime),
        lifespan="off",
        # Replaces Mangum's defaults instead of extending them, hence the spread.
        text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/x-ndjson"],
    )


def _cold_start() -> Runtime:
    runtime = Runtime(settings.load)
    # A failure is logged by the runtime; requests answer 503 until a retry succeeds.
    with contextlib.suppress(NotReadyError):
        runtime.load()
    return runtime


runtime = _cold_start()
_mangum = make_handler(runtime)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's handler."""
    return _mangum(event, context)
