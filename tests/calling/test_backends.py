"""Backend resolution: exact service, longest package wildcard, `*`; 503 when none matches."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.calling.backends import BackendMap, ServicePatterns, Target, parse_target
from grpc_transcoder.errors import ConfigurationError, NoBackendError
from tests.conftest import Handler, runtime_for
from tests.event_builder import Source, build, response_json

LIBRARY = "library.v1.LibraryService"
DEBUG = "library.v1.DebugService"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        pytest.param("backend:50051", Target("backend:50051", False), id="bare"),
        pytest.param("grpc://10.0.0.7:80", Target("10.0.0.7:80", False), id="grpc"),
        pytest.param("grpcs://api.internal:443", Target("api.internal:443", True), id="grpcs"),
        pytest.param("grpcs://[::1]:443", Target("[::1]:443", True), id="ipv6"),
    ],
)
def test_parse_target(text: str, target: Target) -> None:
    assert parse_target(text) == target
    assert str(target).endswith(target.address)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("http://backend:80", "unknown scheme 'http'", id="scheme"),
        pytest.param("backend", "expected host:port", id="no-port"),
        pytest.param("backend:http", "expected host:port", id="named-port"),
        pytest.param("grpc://backend:80/path", "expected host:port", id="path"),
        pytest.param(":80", "expected host:port", id="no-host"),
    ],
)
def test_parse_target_rejects(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        parse_target(text)


PATTERNS = (
    ("*", "default:1"),
    ("library.*", "library:1"),
    ("library.v1.*", "library-v1:1"),
    (DEBUG, "debug:1"),
)


@pytest.mark.parametrize(
    ("service", "address"),
    [
        pytest.param(DEBUG, "debug:1", id="exact-wins"),
        pytest.param(LIBRARY, "library-v1:1", id="longest-package"),
        pytest.param("library.v2.Other", "library:1", id="shorter-package"),
        pytest.param("librarian.v1.Service", "default:1", id="prefix-is-not-a-package"),
        pytest.param("other.Service", "default:1", id="star"),
    ],
)
def test_resolution_order(service: str, address: str) -> None:
    target = BackendMap(PATTERNS).resolve(service)
    assert target is not None
    assert target.address == address


def test_unresolved_service_is_a_503_naming_the_service() -> None:
    backends = BackendMap([("library.*", "library:1")])
    assert backends.resolve("billing.v1.Invoices") is None
    assert backends.unrouted([LIBRARY, "billing.v1.Invoices"]) == ["billing.v1.Invoices"]
    with pytest.raises(NoBackendError) as raised:
        backends.require("billing.v1.Invoices")
    assert raised.value.status == 503
    assert "billing.v1.Invoices" in raised.value.message
    assert "billing.v1.*" in raised.value.message


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("", id="empty"),
        pytest.param("library.*.Service", id="inner-star"),
        pytest.param(".*", id="star-package"),
        pytest.param("library*", id="glob"),
    ],
)
def test_bad_patterns_fail_at_cold_start(pattern: str) -> None:
    with pytest.raises(ConfigurationError, match="TRANSCODER_BACKENDS: pattern"):
        BackendMap([(pattern, "backend:1")])


def test_service_patterns_hold_any_value() -> None:
    seconds = ServicePatterns([("*", 30.0), ("library.v1.*", 5.0)], setting="X")
    assert seconds.resolve(LIBRARY) == 5.0
    assert seconds.resolve("other.Service") == 30.0
    assert ServicePatterns([], setting="X").resolve(LIBRARY) is None


def test_cold_start_warns_about_services_without_backend(caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import LIBRARY_SET

    runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=((DEBUG, "debug:1"),))
    with caplog.at_level(logging.WARNING):
        runtime.load()
    assert any(LIBRARY in r.getMessage() and DEBUG not in r.getMessage() for r in caplog.records)
    assert len(runtime.channels.open_targets) == 0  # nothing is connected during init


def test_unrouted_service_answers_503_without_calling(
    make_library_handler: Callable[..., Handler], context: LambdaContext
) -> None:
    handler = make_library_handler(backends=((DEBUG, "127.0.0.1:1"),))
    response = handler(build(Source.REST_API, "GET", "/v1/shelves"), context)
    assert response["statusCode"] == 503
    body = response_json(response)
    assert body["code"] == 14
    assert f"no backend is configured for {LIBRARY}" in body["message"]
