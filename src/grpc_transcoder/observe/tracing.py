"""Tracing: the trace context of a request, from `traceparent`, `X-Amzn-Trace-Id` or Lambda.

Input: the request headers (lower-case names) and the environment, where the Lambda runtime puts
`_X_AMZN_TRACE_ID` for each invocation. Output: a `TraceContext` naming the trace in the access
log line and carrying the headers worth propagating to the backend as gRPC metadata.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

LAMBDA_TRACE_VARIABLE = "_X_AMZN_TRACE_ID"

# W3C Trace Context: version-traceid-parentid-flags, lower-case hex. Version ff is invalid, and
# so are all-zero ids; later versions may append fields after the flags.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
# The X-Ray root: "1-" + 8 hex digits of epoch seconds + "-" + 24 hex digits.
_XRAY_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_MAX_HEADER = 512  # both specs bound their headers; longer values are not trusted


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace a request belongs to; every field is "" when absent or malformed.

    `trace_id` is the W3C trace id (32 hex digits) of a valid `traceparent`; `xray_trace_id` is
    the X-Ray root (`1-5759e988-bd862e3fe1be46a994272793`) of the invocation or the request.
    """

    trace_id: str = ""
    xray_trace_id: str = ""
    traceparent: str = ""
    tracestate: str = ""
    amzn_trace_id: str = ""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that continues this trace in the backend (keys lower-case)."""
        pairs = (
            ("traceparent", self.traceparent),
            ("tracestate", self.tracestate if self.traceparent else ""),
            ("x-amzn-trace-id", self.amzn_trace_id),
        )
        return tuple((key, value) for key, value in pairs if value)


def from_request(
    headers: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> TraceContext:
    """The trace context of one request; malformed headers are ignored, never an error.

    For `x-amzn-trace-id` the Lambda's own header (`_X_AMZN_TRACE_ID`) wins over the
    request's: its `Parent` is the function's segment, so the backend's segment nests under it.
    """
    env = os.environ if environ is None else environ
    traceparent = _valid_traceparent(headers.get("traceparent", ""))
    amzn = _printable(env.get(LAMBDA_TRACE_VARIABLE, "")) or _printable(
        headers.get("x-amzn-trace-id", "")
    )
    return TraceContext(
        trace_id=traceparent.split("-")[1] if traceparent else "",
        xray_trace_id=xray_root(amzn),
        traceparent=traceparent,
        tracestate=_printable(headers.get("tracestate", "")) if traceparent else "",
        amzn_trace_id=amzn,
    )


def xray_root(header: str) -> str:
    """The `Root=` field of an X-Amzn-Trace-Id value, or "" when it has none that is valid."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and _XRAY_ROOT.fullmatch(value):
            return value
    return ""


def _valid_traceparent(value: str) -> str:
    value = value.strip()
    match = _TRACEPARENT.fullmatch(value) if len(value) <= _MAX_HEADER else None
    if match is None:
        return ""
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return ""
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return ""
    return value


def _printable(value: str) -> str:
    """`value` if gRPC accepts it as a metadata value (printable ASCII), else ""."""
    value = value.strip()
    if len(value) > _MAX_HEADER or not (value.isascii() and value.isprintable()):
        return ""
    return value
