"""Access log: one JSON line per request through the real handler, and the cold-start line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.errors import RouteNotFoundError
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.observe import access_log
from grpc_transcoder.observe.access_log import AccessLog, LogFormat, Phase, RequestLog
from tests.conftest import AccessLines, Handler, runtime_for
from tests.event_builder import Source, build

SECRET = "s3cr3t-value"
FIELDS = {
    "event",
    "apiRequestId",
    "httpMethod",
    "path",
    "route",
    "grpcMethod",
    "grpcCode",
    "grpcStatus",
    "httpStatus",
    "decodeMs",
    "backendMs",
    "encodeMs",
    "totalMs",
    "bytesIn",
    "bytesOut",
    "coldStart",
    "descriptorsVersion",
    "traceId",
    "xrayTraceId",
    "error",
}


class FakeClock:
    """A clock that reads the given times, in seconds, one per call."""

    def __init__(self, *times: float) -> None:
        self._times = iter(times)

    def __call__(self) -> float:
        return next(self._times)


def request(**changes: Any) -> HttpRequest:
    values: dict[str, Any] = {"method": "GET", "path": "/v1/shelves", "request_id": "req-1"}
    values.update(changes)
    return HttpRequest(**values)


@pytest.mark.parametrize(
    ("laps", "decode", "backend", "encode"),
    [
        pytest.param((0.001, 0.003), 1.0, 2.0, 4.0, id="decoded-called-encoded"),
        pytest.param((0.001,), 1.0, 6.0, 0.0, id="failed-in-the-call"),
        pytest.param((), 7.0, None, 0.0, id="failed-in-decoding"),
        pytest.param((0.001, 0.003, 0.005), 1.0, 2.0, 4.0, id="extra-lap-stays-in-encode"),
    ],
)
def test_time_goes_to_the_stage_in_progress(
    laps: tuple[float, ...], decode: float, backend: float | None, encode: float
) -> None:
    log = RequestLog(request(), cold_start=False, clock=FakeClock(0.0, *laps, 0.007))
    for _ in laps:
        log.lap()
    record = log.finish(Reply(200, b"{}"))
    assert (record.decode_ms, record.backend_ms, record.encode_ms) == (decode, backend, encode)
    assert record.total_ms == 7.0


def test_reserved_paths_have_no_stages() -> None:
    log = RequestLog(request(), cold_start=False, clock=FakeClock(0.0, 0.005))
    log.reserved("/healthz")
    record = log.finish(Reply(200, b"{}"))
    assert (record.route, record.decode_ms, record.backend_ms, record.encode_ms) == (
        "/healthz",
        0.0,
        None,
        0.0,
    )
    assert record.total_ms == 5.0


def test_a_failure_names_its_code_and_class() -> None:
    log = RequestLog(request(body=b"12345"), cold_start=True)
    log.failed(RouteNotFoundError("no route"))
    fields = log.finish(Reply(404, b"x" * 9)).fields()
    assert (fields["grpcCode"], fields["grpcStatus"], fields["error"]) == (
        5,
        "NOT_FOUND",
        "RouteNotFoundError",
    )
    assert (fields["bytesIn"], fields["bytesOut"], fields["coldStart"]) == (5, 9, True)
    assert set(fields) == FIELDS


def test_stage_order() -> None:
    assert list(Phase) == [Phase.DECODE, Phase.BACKEND, Phase.ENCODE]


@pytest.mark.parametrize("metrics", [True, False], ids=["with-metrics", "without-metrics"])
def test_one_line_per_request_through_the_handler(
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    access_lines: AccessLines,
    metrics: bool,
) -> None:
    handler = make_library_handler(metrics=metrics)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    event = build(
        Source.REST_API,
        "GET",
        "/v1/shelves/fiction/books/dune",
        headers=[("traceparent", traceparent)],
        request_id="rest-request-1",
    )
    assert handler(event, context)["statusCode"] == 200
    handler(build(Source.HTTP_API, "GET", "/v2/nothing"), context)
    first, second = access_lines()
    if metrics:  # one line carries the access fields, their level and the EMF record
        assert set(first) >= FIELDS | {"level", "_aws", "Requests", "Latency"}
        assert (first["level"], first["Requests"], first["GrpcCode"]) == ("INFO", 1, "OK")
    else:
        assert set(first) == FIELDS
    assert first["apiRequestId"] == "rest-request-1"
    assert (first["httpMethod"], first["route"], first["grpcMethod"]) == (
        "GET",
        "/v1/{name=shelves/*/books/*}",
        "library.v1.LibraryService/GetBook",
    )
    assert (first["grpcCode"], first["httpStatus"], first["coldStart"]) == (0, 200, True)
    assert first["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert first["descriptorsVersion"]
    assert first["bytesOut"] > 0
    assert first["backendMs"] > 0
    assert first["totalMs"] >= first["decodeMs"] + first["backendMs"] + first["encodeMs"] - 0.01
    assert (second["coldStart"], second["grpcStatus"], second["httpStatus"]) == (
        False,
        "NOT_FOUND",
        404,
    )
    assert second["route"] == ""
    assert second["backendMs"] is None


def test_no_bodies_credentials_or_claims_are_logged(
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="grpc_transcoder")
    handler = make_library_handler()
    event = build(
        Source.HTTP_API,
        "POST",
        "/v1/shelves",
        query=[("access_token", SECRET)],
        headers=[("authorization", f"Bearer {SECRET}"), ("content-type", "application/json")],
        body=json.dumps({"theme": SECRET}),
        authorizer={"jwt": {"claims": {"sub": SECRET, "email": SECRET}}},
    )
    handler(event, context)
    assert caplog.records
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert all(SECRET not in repr(record.__dict__) for record in caplog.records)
    printed = capsys.readouterr().out
    assert '"event":"request"' in printed  # the access log line, with the metrics
    assert SECRET not in printed


@pytest.mark.parametrize(
    ("status", "level"),
    [
        pytest.param(200, logging.INFO, id="ok-info"),
        pytest.param(404, logging.INFO, id="client-error-info"),
        pytest.param(503, logging.WARNING, id="server-error-warning"),
    ],
)
def test_server_errors_log_at_warning(
    status: int, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=access_log.ACCESS_LOGGER)
    record = RequestLog(request(), cold_start=False).finish(Reply(status, b""))
    AccessLog(log_format=LogFormat.TEXT).request(record)
    assert [r.levelno for r in caplog.records] == [level]


def test_the_log_level_setting_silences_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.access.silenced")
    logger.setLevel(logging.WARNING)
    caplog.set_level(logging.WARNING, logger=logger.name)
    record = RequestLog(request(), cold_start=False).finish(Reply(200, b""))
    AccessLog(log_format=LogFormat.TEXT, logger=logger).request(record)
    assert caplog.records == []
    assert AccessLog(logger=logger).fields_to_log(record) is None  # nor on the metrics line
    failed = RequestLog(request(), cold_start=False).finish(Reply(503, b""))
    fields = AccessLog(logger=logger).fields_to_log(failed)
    assert fields is not None
    assert (fields["level"], fields["httpStatus"]) == ("WARNING", 503)


class LambdaStyleJsonFormatter(logging.Formatter):
    """What Lambda's JSON log format does with a record: its own fields, then the extras."""

    OWN = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        result = {"level": record.levelname, "message": record.getMessage()}
        result.update((k, v) for k, v in vars(record).items() if k not in self.OWN)
        return json.dumps(result, default=str)


def test_json_log_format_puts_the_fields_beside_lambdas() -> None:
    logger = logging.getLogger("tests.access.json")
    logger.propagate = False
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(LambdaStyleJsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log = RequestLog(request(), cold_start=True)
        AccessLog(log_format=LogFormat.JSON, logger=logger).request(log.finish(Reply(200, b"")))
    finally:
        logger.removeHandler(handler)
    (line,) = lines
    parsed = json.loads(line)
    assert set(parsed) >= FIELDS
    assert parsed["message"].startswith("GET /v1/shelves -> - OK 200 in ")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, LogFormat.TEXT, id="unset"),
        pytest.param({"AWS_LAMBDA_LOG_FORMAT": "Text"}, LogFormat.TEXT, id="text"),
        pytest.param({"AWS_LAMBDA_LOG_FORMAT": "JSON"}, LogFormat.JSON, id="json"),
        pytest.param({"AWS_LAMBDA_LOG_FORMAT": "json"}, LogFormat.JSON, id="json-lower"),
    ],
)
def test_log_format_follows_lambdas_configuration(
    environ: dict[str, str], expected: LogFormat
) -> None:
    assert LogFormat.of_lambda(environ) is expected


def test_first_request_is_asked_once_per_owner() -> None:
    owner, other = runtime_for(), runtime_for()
    assert access_log.first_request(owner)
    assert not access_log.first_request(owner)
    assert access_log.first_request(other)


@pytest.fixture
def bare_root() -> Iterator[logging.Logger]:
    """A root logger without handlers (the real one has pytest's); the package level restored."""
    package = logging.getLogger(access_log.PACKAGE_LOGGER)
    level = package.level
    yield logging.Logger("bare-root")
    package.setLevel(level)


def test_configure_logging_gives_a_bare_process_a_handler(bare_root: logging.Logger) -> None:
    access_log.configure_logging("WARNING", root=bare_root)
    assert logging.getLogger(access_log.PACKAGE_LOGGER).level == logging.WARNING
    assert len(bare_root.handlers) == 1
    access_log.configure_logging("INFO", root=bare_root)  # Lambda's handler stays the only one
    assert len(bare_root.handlers) == 1
    assert logging.getLogger(access_log.PACKAGE_LOGGER).level == logging.INFO


def test_methods_reached_without_the_route_table_are_named() -> None:
    log = RequestLog(request(method="POST", path="/a.B/C"), cold_start=False)
    log.grpc_method, log.route, log.method_known = "a.B/C", "(pass-through)", False
    record = log.finish(Reply(200, b""))
    assert (record.fields()["grpcMethod"], record.fields()["route"]) == ("a.B/C", "(pass-through)")
    assert record.method_known is False
