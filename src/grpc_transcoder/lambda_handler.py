"""The Lambda entry point: `grpc_transcoder.lambda_handler.handler`.

Cold start (module import) reads the settings, sets the log level, loads the descriptor sets
and compiles the routes once per container, then logs one line saying what was loaded and how
long each step took; a failure there is remembered and answered as 503 instead of crashing the
import, and retried on later invocations.
"""

from __future__ import annotations

import logging
from typing import Any

from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from grpc_transcoder import settings
from grpc_transcoder.edge.adapter import LambdaAdapter
from grpc_transcoder.errors import ConfigurationError, NotReadyError
from grpc_transcoder.loading.runtime import Runtime
from grpc_transcoder.loading.state import State
from grpc_transcoder.observe import access_log, cold_start

logger = logging.getLogger(__name__)


def make_handler(runtime: Runtime) -> LambdaAdapter:
    """The adapter that answers every event with the pipeline of `runtime`."""
    return LambdaAdapter(
        runtime,
        # Replaces Mangum's defaults instead of extending them, hence the spread. Mangum
        # matches substrings: "+json" keeps application/problem+json and the like as text.
        # Any other type (an HttpBody's image/png...) goes out base64 with isBase64Encoded.
        text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/x-ndjson", "+json"],
    )


def _cold_start() -> Runtime:
    timer = cold_start.StepTimer()
    try:
        parsed: settings.Settings | None = timer.timed("settings", settings.load)()
    except ConfigurationError:
        parsed = None  # the runtime reports it, and answers 503 saying why
    level = (parsed or settings.Settings()).log_level
    access_log.configure_logging(level)
    runtime = Runtime(lambda: parsed if parsed is not None else settings.load())
    loaded: State | None = None
    error = ""
    try:
        loaded = timer.timed("load", runtime.load)()
    except NotReadyError as exc:  # logged by the runtime; requests answer 503 until a retry works
        error = exc.message
    access_log.AccessLog().cold_start(
        cold_start.ColdStart.of(loaded, timer, log_level=level, error=error)
    )
    return runtime


runtime = _cold_start()
_adapter = make_handler(runtime)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's handler."""
    return _adapter(event, context)
