"""Deadlines: the smallest of grpc-timeout, the service maximum and the Lambda's remaining time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from grpc_transcoder_tools.local_server import LambdaContext
from hypothesis import given
from hypothesis import strategies as st

from grpc_transcoder.calling.deadlines import Bound, DeadlinePolicy, parse_grpc_timeout
from grpc_transcoder.errors import Code, RequestError, TranscoderError
from grpc_transcoder.lambda_handler import make_handler
from tests.conftest import LIBRARY_SET, Handler, runtime_for
from tests.event_builder import Source, build, response_json

SERVICE = "library.v1.DebugService"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("1H", 3600.0, id="hours"),
        pytest.param("2M", 120.0, id="minutes"),
        pytest.param("5S", 5.0, id="seconds"),
        pytest.param("250m", 0.25, id="milliseconds"),
        pytest.param("1500u", 0.0015, id="microseconds"),
        pytest.param("99999999n", 0.099999999, id="nanoseconds-8-digits"),
        pytest.param(" 10S ", 10.0, id="surrounding-space"),
        pytest.param("0m", 0.0, id="zero"),
    ],
)
def test_parse_grpc_timeout(text: str, seconds: float) -> None:
    assert parse_grpc_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("10", id="no-unit"),
        pytest.param("S", id="no-digits"),
        pytest.param("1.5S", id="fraction"),
        pytest.param("123456789m", id="nine-digits"),
        pytest.param("10s", id="lower-case-seconds"),
        pytest.param("-1S", id="negative"),
        pytest.param("10 S", id="inner-space"),
    ],
)
def test_invalid_grpc_timeout_is_a_400(text: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse_grpc_timeout(text)
    assert raised.value.status == 400
    assert "grpc-timeout" in raised.value.message
    assert raised.value.violations[0].field == "grpc-timeout"


@given(st.text(max_size=12))
def test_any_grpc_timeout_parses_or_is_a_400(text: str) -> None:
    try:
        outcome = parse_grpc_timeout(text)
    except RequestError as exc:
        outcome = -float(exc.status)
    assert outcome == -400 or 0 <= outcome <= 99_999_999 * 3600


def policy() -> DeadlinePolicy:
    return DeadlinePolicy(
        (("*", 30.0), ("library.v1.*", 8.0), (SERVICE, 2.0)), margin_ms=500, minimum_ms=50
    )


@pytest.mark.parametrize(
    ("service", "header", "remaining_ms", "seconds", "bound"),
    [
        pytest.param("other.Service", None, None, 30.0, Bound.SERVICE_MAXIMUM, id="default"),
        pytest.param(SERVICE, None, None, 2.0, Bound.SERVICE_MAXIMUM, id="service-max"),
        pytest.param(
            "library.v1.LibraryService", None, None, 8.0, Bound.SERVICE_MAXIMUM, id="package-max"
        ),
        pytest.param(SERVICE, "300m", None, 0.3, Bound.HEADER, id="header"),
        pytest.param(SERVICE, "1M", None, 2.0, Bound.SERVICE_MAXIMUM, id="header-capped"),
        pytest.param(SERVICE, "1S", 1200.0, 0.7, Bound.LAMBDA_TIME, id="lambda-time"),
        pytest.param(SERVICE, None, 60_000.0, 2.0, Bound.SERVICE_MAXIMUM, id="lambda-plenty"),
    ],
)
def test_the_smallest_bound_wins(
    service: str, header: str | None, remaining_ms: float | None, seconds: float, bound: Bound
) -> None:
    deadline = policy().deadline(service, header=header, remaining_ms=remaining_ms)
    assert deadline.seconds == pytest.approx(seconds)
    assert deadline.bound is bound
    assert 0 < deadline.remaining() <= seconds
    assert bound.value in deadline.describe()


@pytest.mark.parametrize(
    ("header", "remaining_ms", "named"),
    [
        pytest.param(None, 540.0, "remaining time", id="lambda-nearly-done"),
        pytest.param(None, 100.0, "remaining time", id="lambda-past-margin"),
        pytest.param("10m", None, "grpc-timeout", id="tiny-header"),
    ],
)
def test_too_little_budget_is_a_504(
    header: str | None, remaining_ms: float | None, named: str
) -> None:
    with pytest.raises(TranscoderError) as raised:
        policy().deadline(SERVICE, header=header, remaining_ms=remaining_ms)
    assert raised.value.grpc_code == Code.DEADLINE_EXCEEDED
    assert raised.value.status == 504
    assert named in raised.value.message
    assert SERVICE in raised.value.message


def _sleep(
    handler: Handler, context: LambdaContext, duration: str, *headers: tuple[str, str]
) -> dict[str, object]:
    event = build(
        Source.HTTP_API,
        "GET",
        "/v1/debug:sleep",
        query=[("duration", duration)],
        headers=list(headers),
    )
    return handler(event, context)


def _seconds(duration: str) -> float:
    return float(duration.rstrip("s"))


def test_grpc_timeout_header_reaches_the_backend(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _sleep(library_handler, context, "0s", ("grpc-timeout", "1500m"))
    assert response["statusCode"] == 200
    remaining = _seconds(response_json(response)["timeRemaining"])
    assert 1.0 < remaining <= 1.5


def test_lambda_remaining_time_bounds_the_call(
    make_library_handler: Callable[..., Handler],
) -> None:
    handler = make_library_handler(deadline_margin_ms=500)
    response = _sleep(handler, LambdaContext(timeout_ms=1500), "0s")
    remaining = _seconds(response_json(response)["timeRemaining"])
    assert 0.5 < remaining <= 1.0


def test_service_maximum_bounds_the_call(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(max_deadline=(("library.v1.DebugService", 0.8), ("*", 30.0)))
    response = _sleep(handler, context, "0s", ("grpc-timeout", "20S"))
    assert 0.2 < _seconds(response_json(response)["timeRemaining"]) <= 0.8


def test_a_slow_backend_is_a_504_naming_the_deadline(
    library_handler: Handler, context: LambdaContext
) -> None:
    started = time.monotonic()
    response = _sleep(library_handler, context, "2s", ("grpc-timeout", "200m"))
    assert time.monotonic() - started < 1.5
    assert response["statusCode"] == 504
    body = response_json(response)
    assert body["code"] == 4
    assert "did not answer within its deadline" in body["message"]
    assert "grpc-timeout" in body["message"]


def test_exhausted_budget_answers_504_without_calling(
    make_library_handler: Callable[..., Handler],
) -> None:

    runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", "127.0.0.1:1"),))
    handler = make_handler(runtime)
    started = time.monotonic()
    response = _sleep(handler, LambdaContext(timeout_ms=520), "0s")
    assert time.monotonic() - started < 0.2
    assert response["statusCode"] == 504
    assert "TRANSCODER_MIN_DEADLINE_MS" in response_json(response)["message"]
    assert len(runtime.channels.open_targets) == 0  # no channel was even opened


def test_invalid_grpc_timeout_header_is_a_400(
    library_handler: Handler, context: LambdaContext
) -> None:
    response = _sleep(library_handler, context, "0s", ("grpc-timeout", "soon"))
    assert response["statusCode"] == 400
    assert "invalid grpc-timeout header 'soon'" in response_json(response)["message"]
