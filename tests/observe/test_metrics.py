"""Metrics: CloudWatch Embedded Metric Format records, one stdout line per request."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.observe import metrics
from grpc_transcoder.observe.access_log import AccessRecord
from grpc_transcoder.observe.metrics import MetricsWriter
from tests.conftest import Handler
from tests.event_builder import Source, build

# The units CloudWatch accepts that these metrics use.
UNITS = {"Count", "Milliseconds"}


def record(**changes: Any) -> AccessRecord:
    values: dict[str, Any] = {
        "request_id": "req-1",
        "http_method": "GET",
        "path": "/v1/shelves",
        "route": "/v1/shelves",
        "grpc_method": "library.v1.LibraryService/ListShelves",
        "grpc_code": 0,
        "http_status": 200,
        "decode_ms": 0.1,
        "backend_ms": 1.5,
        "encode_ms": 0.2,
        "total_ms": 2.0,
        "bytes_in": 0,
        "bytes_out": 10,
        "cold_start": False,
        "descriptors_version": "abc",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "xray_trace_id": "",
    }
    values.update(changes)
    return AccessRecord(**values)


def check_emf(document: dict[str, Any]) -> dict[str, float]:
    """Assert the EMF rules CloudWatch applies; the metric values by name."""
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int)
    values: dict[str, float] = {}
    for directive in meta["CloudWatchMetrics"]:
        assert directive["Namespace"]
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(document[name], str)
                assert document[name]
        for metric in directive["Metrics"]:
            assert metric["Unit"] in UNITS
            value = document[metric["Name"]]
            assert isinstance(value, int | float)
            values[metric["Name"]] = value
    return values


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {},
            {"Requests": 1, "Errors": 0, "Faults": 0, "Latency": 2.0, "BackendLatency": 1.5},
            id="ok",
        ),
        pytest.param(
            {"grpc_code": 5, "http_status": 404},
            {"Requests": 1, "Errors": 1, "Faults": 0, "Latency": 2.0, "BackendLatency": 1.5},
            id="not-found",
        ),
        pytest.param(
            {"grpc_code": 14, "http_status": 503, "backend_ms": None, "grpc_method": ""},
            {"Requests": 1, "Errors": 1, "Faults": 1, "Latency": 2.0},
            id="unavailable-without-call",
        ),
    ],
)
def test_record_is_valid_emf(changes: dict[str, Any], expected: dict[str, float]) -> None:
    writer = MetricsWriter(namespace="shop", function="shop-api", clock=lambda: 1700000000.5)
    document = writer.record(record(**changes))
    assert check_emf(document) == expected
    assert document["_aws"]["Timestamp"] == 1700000000500
    assert {d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"]} == {"shop"}
    assert document["Function"] == "shop-api"


@pytest.mark.parametrize(
    ("grpc_method", "code", "dimension_method", "dimension_code"),
    [
        pytest.param("a.B/C", 0, "a.B/C", "OK", id="routed"),
        pytest.param("", 5, metrics.NO_METHOD, "NOT_FOUND", id="unrouted"),
        pytest.param("a.B/C", 99, "a.B/C", "UNKNOWN", id="code-outside-the-enum"),
    ],
)
def test_dimensions(
    grpc_method: str, code: int, dimension_method: str, dimension_code: str
) -> None:
    document = MetricsWriter(namespace="n", function="f").record(
        record(grpc_method=grpc_method, grpc_code=code)
    )
    assert (document["GrpcMethod"], document["GrpcCode"]) == (dimension_method, dimension_code)
    dimension_sets = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert dimension_sets == [["Function"], ["Function", "GrpcMethod"], ["Function", "GrpcCode"]]


def test_properties_link_a_data_point_to_its_log_line() -> None:
    document = MetricsWriter(namespace="n", function="f").record(record(xray_trace_id="1-x-y"))
    assert document["apiRequestId"] == "req-1"
    assert document["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    fallback = MetricsWriter(namespace="n", function="f").record(
        record(trace_id="", xray_trace_id="1-5759e988-bd862e3fe1be46a994272793")
    )
    assert fallback["traceId"] == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    ("environ", "function"),
    [
        pytest.param({"AWS_LAMBDA_FUNCTION_NAME": "prod-api"}, "prod-api", id="in-lambda"),
        pytest.param({}, metrics.LOCAL_FUNCTION, id="outside-lambda"),
    ],
)
def test_function_dimension_comes_from_lambda(environ: dict[str, str], function: str) -> None:
    assert MetricsWriter(namespace="n", environ=environ).function == function


def test_write_is_one_whole_line() -> None:
    stream = io.StringIO()
    MetricsWriter(namespace="n", function="f", stream=stream).write(record())
    text = stream.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    check_emf(json.loads(text))


def test_one_line_carries_the_access_fields_and_the_metrics() -> None:
    stream = io.StringIO()
    access = {"event": "request", "apiRequestId": "r-1", "path": "/a\u2028b", "level": "INFO"}
    MetricsWriter(namespace="n", function="f", stream=stream).write(record(), access)
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "\u2028" not in text  # JSON allows it raw, but it would break the log line
    line = json.loads(text)
    check_emf(line)
    assert {key: line[key] for key in access} == access
    assert "traceId" not in line  # the record's own copies give way to the access fields


def test_writer_is_built_once_per_namespace() -> None:
    assert metrics.writer("one") is metrics.writer("one")
    assert metrics.writer("one") is not metrics.writer("two")


def emf_lines(text: str) -> list[dict[str, Any]]:
    lines = (json.loads(line) for line in text.splitlines() if line.startswith("{"))
    return [line for line in lines if "_aws" in line]


def test_one_record_per_request_through_the_handler(
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = make_library_handler(metrics_namespace="library-tests")
    handler(build(Source.HTTP_API, "GET", "/v1/shelves/fiction"), context)
    handler(build(Source.REST_API, "GET", "/v1/shelves/nowhere"), context)
    ok, missing = emf_lines(capsys.readouterr().out)
    assert check_emf(ok)["Errors"] == 0
    assert ok["GrpcMethod"] == "library.v1.LibraryService/GetShelf"
    assert ok["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "library-tests"
    assert check_emf(missing)["Errors"] == 1
    assert missing["GrpcCode"] == "NOT_FOUND"


def test_the_setting_turns_metrics_off(
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = make_library_handler(metrics=False)
    assert handler(build(Source.HTTP_API, "GET", "/v1/shelves"), context)["statusCode"] == 200
    assert emf_lines(capsys.readouterr().out) == []
