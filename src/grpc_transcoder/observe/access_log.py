"""Access log: one JSON line per request, and one line for the cold start, through `logging`.

Input: what the pipeline learns while answering (route, stage timings, reply or error). Output:
records on the `grpc_transcoder.access` logger, shaped for Lambda's log handler: in its text
format the message is the JSON object; in its JSON format the fields join Lambda's own object.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from grpc_transcoder.errors import Code, TranscoderError, clip, code_name

if TYPE_CHECKING:
    from grpc_transcoder.exchange import HttpRequest, Reply
    from grpc_transcoder.loading.serving import ServingOptions
    from grpc_transcoder.loading.state import State
    from grpc_transcoder.observe.cold_start import ColdStart
    from grpc_transcoder.routing.table import Route

ACCESS_LOGGER = "grpc_transcoder.access"
PACKAGE_LOGGER = "grpc_transcoder"
LAMBDA_LOG_FORMAT_VARIABLE = "AWS_LAMBDA_LOG_FORMAT"
MAX_LOGGED_PATH_CHARS = 1024  # the path is the client's: log lines stay bounded


class LogFormat(enum.Enum):
    """Lambda's logging configuration: `Text` (the default) or `JSON`."""

    TEXT = "text"
    JSON = "json"

    @classmethod
    def of_lambda(cls, environ: Mapping[str, str] | None = None) -> LogFormat:
        env = os.environ if environ is None else environ
        return cls.JSON if env.get(LAMBDA_LOG_FORMAT_VARIABLE, "").upper() == "JSON" else cls.TEXT


class Phase(enum.IntEnum):
    """The timed phases of a request, in pipeline order (hook stages are `hooks.Stage`)."""

    DECODE = 0  # routing, then path, query and body into the request message
    BACKEND = 1  # the gRPC call
    ENCODE = 2  # the response message into the HTTP reply


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """What one request did. Never holds bodies, query strings, headers or authorizer data."""

    request_id: str
    http_method: str
    path: str
    route: str  # the template that matched, or a reserved path label; "" when none matched
    grpc_method: str  # "package.Service/Method", "" when no method was routed
    grpc_code: int
    http_status: int
    decode_ms: float
    backend_ms: float | None  # None when no backend call was made
    encode_ms: float
    total_ms: float
    bytes_in: int
    bytes_out: int
    cold_start: bool
    descriptors_version: str
    trace_id: str
    xray_trace_id: str
    error: str = ""  # the error class of a failure
    # False for a pass-through method absent from the descriptors: its name is the client's.
    method_known: bool = True

    def fields(self) -> dict[str, Any]:
        """The JSON fields of the log line (camelCase, like Lambda's own JSON fields)."""
        return {
            "event": "request",
            "apiRequestId": self.request_id,
            "httpMethod": self.http_method,
            "path": self.path,
            "route": self.route,
            "grpcMethod": self.grpc_method,
            "grpcCode": self.grpc_code,
            "grpcStatus": code_name(self.grpc_code),
            "httpStatus": self.http_status,
            "decodeMs": self.decode_ms,
            "backendMs": self.backend_ms,
            "encodeMs": self.encode_ms,
            "totalMs": self.total_ms,
            "bytesIn": self.bytes_in,
            "bytesOut": self.bytes_out,
            "coldStart": self.cold_start,
            "descriptorsVersion": self.descriptors_version,
            "traceId": self.trace_id,
            "xrayTraceId": self.xray_trace_id,
            "error": self.error,
        }

    def summary(self) -> str:
        """A one-line human summary (the `message` in Lambda's JSON format)."""
        target = self.grpc_method or "-"
        status = code_name(self.grpc_code)
        return (
            f"{self.http_method} {self.route or self.path} -> {target} "
            f"{status} {self.http_status} in {self.total_ms:.1f} ms"
        )


class RequestLog:
    """Collects what one request did while the pipeline answers it.

    Mutable on purpose: it lives for one request and becomes a frozen `AccessRecord`. The
    pipeline calls `lap()` when it finishes a stage; whatever time is left when `finish` runs
    belongs to the stage in progress (the encoding, or the stage that failed).
    """

    __slots__ = (
        "_clock",
        "_durations",
        "_lap_started",
        "_stage",
        "_started",
        "cold_start",
        "error",
        "grpc_method",
        "method_known",
        "request",
        "route",
        "serving",
        "trace",
        "version",
    )

    def __init__(
        self,
        request: HttpRequest,
        *,
        cold_start: bool,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._clock = clock
        self._started = self._lap_started = clock()
        self._durations = [0.0, 0.0, 0.0]
        self._stage: int = Phase.DECODE
        self.request = request
        self.cold_start = cold_start
        self.trace = request.trace
        self.route = ""
        self.grpc_method = ""
        self.method_known = True
        self.version = ""
        self.serving: ServingOptions | None = None
        self.error: TranscoderError | None = None

    def loaded(self, state: State) -> None:
        """Record the descriptors and the serving options that answer the request."""
        self.version = state.registry.version
        self.serving = state.serving

    def matched(self, route: Route) -> None:
        """Record the route the request matched."""
        self.route = route.template.text
        self.grpc_method = route.method.full_name

    def reserved(self, path: str) -> None:
        """The request asked for a reserved path (health, OpenAPI): no stages to time."""
        self.route = path
        self._lap_started = math.inf  # nothing is charged to a stage

    def lap(self) -> None:
        """The current stage is done: charge its time and start the next one."""
        now = self._clock()
        self._durations[self._stage] += now - self._lap_started
        self._lap_started = now
        if self._stage < Phase.ENCODE:
            self._stage += 1

    def failed(self, error: TranscoderError) -> None:
        self.error = error

    def finish(self, reply: Reply) -> AccessRecord:
        """The record of the request, answered with `reply`."""
        now = self._clock()
        self._durations[self._stage] += max(0.0, now - self._lap_started)
        decode, backend, encode = self._durations
        decode, backend, encode = (
            round(decode * 1000, 3),
            round(backend * 1000, 3),
            round(encode * 1000, 3),
        )
        error = self.error
        return AccessRecord(
            request_id=self.request.request_id,
            http_method=self.request.method,
            path=clip(self.request.path, MAX_LOGGED_PATH_CHARS),
            route=self.route,
            grpc_method=self.grpc_method,
            grpc_code=Code.OK if error is None else error.grpc_code,
            http_status=reply.status,
            decode_ms=decode,
            backend_ms=backend if self._stage >= Phase.BACKEND else None,
            encode_ms=encode,
            total_ms=round((now - self._started) * 1000, 3),
            bytes_in=len(self.request.body),
            bytes_out=len(reply.body),
            cold_start=self.cold_start,
            descriptors_version=self.version,
            trace_id=self.trace.trace_id,
            xray_trace_id=self.trace.xray_trace_id,
            error="" if error is None else type(error).__name__,
            method_known=self.method_known,
        )


class AccessLog:
    """Writes access and cold-start records; 5xx answers log at WARNING, the rest at INFO.

    `log_format` defaults to Lambda's (`AWS_LAMBDA_LOG_FORMAT`), read once.
    """

    def __init__(
        self, *, log_format: LogFormat | None = None, logger: logging.Logger | None = None
    ) -> None:
        self.log_format = LogFormat.of_lambda() if log_format is None else log_format
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)

    def request(self, record: AccessRecord) -> None:
        level = logging.WARNING if record.http_status >= 500 else logging.INFO
        if self._logger.isEnabledFor(level):
            self._emit(level, record.summary, record.fields())

    def fields_to_log(self, record: AccessRecord) -> dict[str, Any] | None:
        """The access fields of `record` with their `level`, or None when that level is off.

        For the one JSON line that carries both the access log and the metrics (`metrics`).
        """
        level = logging.WARNING if record.http_status >= 500 else logging.INFO
        if not self._logger.isEnabledFor(level):
            return None
        fields = record.fields()
        fields["level"] = "WARNING" if level == logging.WARNING else "INFO"
        return fields

    def cold_start(self, record: ColdStart) -> None:
        """The cold-start line: INFO when ready, WARNING when the load failed."""
        level = logging.INFO if record.ready else logging.WARNING
        if self._logger.isEnabledFor(level):
            self._emit(level, record.summary, record.fields())

    def _emit(self, level: int, summary: Callable[[], str], fields: dict[str, Any]) -> None:
        if self.log_format is LogFormat.JSON:
            # Lambda's JSON formatter copies `extra` fields into its own object.
            message, extra = summary(), fields
        else:
            message, extra = orjson.dumps(fields).decode(), None
        # makeRecord + handle is what Logger.log does, minus finding the caller by walking the
        # stack: measured at about a third of the line's cost under Mangum's deep call stack.
        logger = self._logger
        logger.handle(
            logger.makeRecord(logger.name, level, __file__, 0, message, (), None, extra=extra)
        )


_served: weakref.WeakSet[object] = weakref.WeakSet()


def first_request(owner: object) -> bool:
    """True the first time it is asked about `owner` (a Runtime): its container's cold start."""
    if owner in _served:
        return False
    _served.add(owner)
    return True


def configure_logging(level: str, *, root: logging.Logger | None = None) -> None:
    """Set the package's log level; give a bare process a stderr handler; escape every line.

    Lambda's runtime and the CLI already put a handler on the root logger; it is used as is, so
    both of Lambda's log formats keep working. The root logger's own level is left alone. Each
    of its handlers gets an `EscapingFilter`, so that no text in a message (a path, a header,
    a backend's error message) can start a line of its own.
    """
    logging.getLogger(PACKAGE_LOGGER).setLevel(level)
    root = logging.getLogger() if root is None else root
    if not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    for handler in root.handlers:
        if not any(isinstance(f, EscapingFilter) for f in handler.filters):
            handler.addFilter(EscapingFilter())


# Characters that end or break a line somewhere a log is read (terminals, CloudWatch, editors).
_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


class EscapingFilter(logging.Filter):
    """Escapes control characters and line separators in every record's message.

    Messages quote what clients and backends send; escaped, such text cannot forge log lines.
    A traceback (`exc_info`) is printed as it is: it comes from the code, not from a request.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BREAKS.search(message) is not None:
            record.msg, record.args = _BREAKS.sub(_escape, message), None
        return True


def escape_line(line: str) -> str:
    """A JSON line with the line separators JSON leaves raw (U+2028, U+2029, U+0085, DEL)
    escaped, for lines written straight to stdout rather than through `logging`."""
    return _BREAKS.sub(_escape, line) if _BREAKS.search(line) is not None else line


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    """`\\n` and the like, or `\\u0085`: escapes that are valid inside a JSON string too, so that
    an escaped JSON line (an access log line) stays JSON."""
    character = match.group()
    return _SHORT_ESCAPES.get(character) or f"\\u{ord(character):04x}"
