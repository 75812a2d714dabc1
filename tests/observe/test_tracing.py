"""Trace context from `traceparent`, `X-Amzn-Trace-Id` and the Lambda environment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.observe import tracing
from grpc_transcoder.observe.tracing import TraceContext

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
W3C_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
XRAY_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
XRAY_HEADER = f"Root={XRAY_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
LAMBDA_HEADER = "Root=1-67891233-abcdef012345678912345678;Parent=1111111111111111;Sampled=0"


@pytest.mark.parametrize(
    ("headers", "environ", "trace_id", "xray_trace_id"),
    [
        pytest.param({}, {}, "", "", id="nothing"),
        pytest.param({"traceparent": TRACEPARENT}, {}, W3C_TRACE_ID, "", id="traceparent"),
        pytest.param({"x-amzn-trace-id": XRAY_HEADER}, {}, "", XRAY_ROOT, id="x-ray-header"),
        pytest.param(
            {"x-amzn-trace-id": XRAY_HEADER},
            {tracing.LAMBDA_TRACE_VARIABLE: LAMBDA_HEADER},
            "",
            "1-67891233-abcdef012345678912345678",
            id="lambda-environment-wins",
        ),
        pytest.param(
            {"traceparent": TRACEPARENT, "x-amzn-trace-id": XRAY_HEADER},
            {},
            W3C_TRACE_ID,
            XRAY_ROOT,
            id="both",
        ),
        pytest.param(
            {"x-amzn-trace-id": "Self=1-5759e988-bd862e3fe1be46a994272793;Root=bad"},
            {},
            "",
            "",
            id="x-ray-without-valid-root",
        ),
    ],
)
def test_trace_ids(
    headers: dict[str, str], environ: dict[str, str], trace_id: str, xray_trace_id: str
) -> None:
    context = tracing.from_request(headers, environ)
    assert context.trace_id == trace_id
    assert context.xray_trace_id == xray_trace_id


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("00-00000000000000000000000000000000-00f067aa0ba902b7-01", id="zero-trace"),
        pytest.param("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", id="zero-parent"),
        pytest.param("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id="version-ff"),
        pytest.param(TRACEPARENT.upper(), id="upper-case"),
        pytest.param(TRACEPARENT + "-extra", id="version-00-with-more-fields"),
        pytest.param(TRACEPARENT[:-1], id="truncated"),
        pytest.param("00-" + "a" * 600, id="too-long"),
    ],
)
def test_invalid_traceparent_is_ignored(value: str) -> None:
    context = tracing.from_request({"traceparent": value, "tracestate": "a=b"}, {})
    assert context == TraceContext()
    assert context.metadata() == ()


def test_a_later_version_may_add_fields() -> None:
    value = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
    assert tracing.from_request({"traceparent": value}, {}).trace_id == W3C_TRACE_ID


def test_metadata_continues_the_trace() -> None:
    headers = {"traceparent": TRACEPARENT, "tracestate": "vendor=1", "x-amzn-trace-id": XRAY_HEADER}
    context = tracing.from_request(headers, {tracing.LAMBDA_TRACE_VARIABLE: LAMBDA_HEADER})
    assert context.metadata() == (
        ("traceparent", TRACEPARENT),
        ("tracestate", "vendor=1"),
        ("x-amzn-trace-id", LAMBDA_HEADER),  # the function's segment is the backend's parent
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Root=1-5759e988-bd862e3fe1be46a994272793\n", id="trailing-newline-stripped"),
        pytest.param("Root=1-5759e988-bd862e3fe1be46a994272793;x=\u00e9", id="non-ascii"),
        pytest.param("Root=1-5759e988-bd862e3fe1be46a994272793;x=\x01", id="control"),
    ],
)
def test_x_amzn_trace_id_must_be_valid_metadata(value: str) -> None:
    context = tracing.from_request({"x-amzn-trace-id": value}, {})
    for _, metadata_value in context.metadata():
        assert metadata_value.isascii()
        assert metadata_value.isprintable()


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracing.LAMBDA_TRACE_VARIABLE, LAMBDA_HEADER)
    assert tracing.from_request({}).amzn_trace_id == LAMBDA_HEADER


@given(
    st.dictionaries(st.sampled_from(["traceparent", "tracestate", "x-amzn-trace-id"]), st.text())
)
def test_any_headers_give_valid_metadata(headers: dict[str, str]) -> None:
    context = tracing.from_request(headers, {})
    for key, value in context.metadata():
        assert key.islower()
        assert value.isascii()
        assert value.isprintable()
        assert len(value) <= 512
