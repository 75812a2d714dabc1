"""Metrics: CloudWatch Embedded Metric Format (EMF) records, one JSON line per request.

Input: an `AccessRecord` (and the access log's fields, when that level is on). Output: a line on
stdout that CloudWatch Logs turns into metrics and Logs Insights reads as the access log line;
no API call is made. EMF needs the whole log event to be the JSON object, so the line bypasses
`logging` (Lambda's text format would prefix it) and is written straight to stdout.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TextIO

import orjson

from grpc_transcoder.errors import code_name
from grpc_transcoder.observe.access_log import AccessRecord, escape_line
from grpc_transcoder.settings import Settings

FUNCTION_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"
LOCAL_FUNCTION = "local"
DEFAULT_NAMESPACE = Settings().metrics_namespace
NO_METHOD = "(none)"  # the GrpcMethod of requests no method answered (404, 405, reserved paths)
# The GrpcMethod of pass-through calls to methods outside the descriptors: their names are the
# client's, and a dimension value per name would be a custom metric per name.
UNKNOWN_METHOD = "(unknown)"

# Every metric is published per function, per function and gRPC method, and per function and
# gRPC code: 3 dimension sets, so each metric costs 1 + methods + codes-seen custom metrics.
DIMENSION_SETS = (("Function",), ("Function", "GrpcMethod"), ("Function", "GrpcCode"))
REQUEST_METRICS = (
    ("Requests", "Count"),
    ("Errors", "Count"),  # any gRPC code but OK
    ("Faults", "Count"),  # HTTP 5xx
    ("Latency", "Milliseconds"),  # the whole request inside the function
)
BACKEND_METRICS = (("BackendLatency", "Milliseconds"),)  # only when a call was made


class MetricsWriter:
    """Writes the EMF record of each request.

    `function` defaults to `AWS_LAMBDA_FUNCTION_NAME` (`local` outside Lambda); `stream` to the
    `sys.stdout` of the moment of writing (Lambda replaces it with an unbuffered one).
    """

    def __init__(
        self,
        *,
        namespace: str,
        function: str | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.namespace = namespace
        self.function = function or env.get(FUNCTION_VARIABLE) or LOCAL_FUNCTION
        self._stream = stream
        self._clock = clock
        # The directives never change: build them once.
        self._request_only = [_directive(namespace, REQUEST_METRICS)]
        self._with_backend = [*self._request_only, _directive(namespace, BACKEND_METRICS)]

    def record(self, record: AccessRecord) -> dict[str, Any]:
        """The EMF object of one request."""
        called = record.backend_ms is not None
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": self._with_backend if called else self._request_only,
            },
            "Function": self.function,
            "GrpcMethod": _method_dimension(record),
            "GrpcCode": code_name(record.grpc_code),
            "Requests": 1,
            "Errors": int(record.grpc_code != 0),
            "Faults": int(record.http_status >= 500),
            "Latency": record.total_ms,
            # Properties that are not metrics, to find the request's log line from a data point.
            "apiRequestId": record.request_id,
            "traceId": record.trace_id or record.xray_trace_id,
        }
        if called:
            document["BackendLatency"] = record.backend_ms
        return document

    def write(self, record: AccessRecord, access: dict[str, Any] | None = None) -> None:
        """Write the EMF record of `record`; with `access` (the access log's fields), one line
        carries both: CloudWatch reads the metrics from any JSON log line with `_aws`, and
        Logs Insights reads the access fields from the same line."""
        document = self.record(record)
        if access is not None:
            del document["apiRequestId"], document["traceId"]  # the access fields have them
            document = {**access, **document}
        stream = self._stream or sys.stdout
        # One write call per line keeps the line whole in the log.
        stream.write(escape_line(orjson.dumps(document).decode()) + "\n")


def _method_dimension(record: AccessRecord) -> str:
    if not record.grpc_method:
        return NO_METHOD
    return record.grpc_method if record.method_known else UNKNOWN_METHOD


def _directive(namespace: str, metrics: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "Dimensions": [list(dimensions) for dimensions in DIMENSION_SETS],
        "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
    }


@cache
def writer(namespace: str) -> MetricsWriter:
    """The writer of a namespace, built once (the directives are reused for every record)."""
    return MetricsWriter(namespace=namespace)
