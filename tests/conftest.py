"""Shared fixtures: the example backend on loopback, moto's S3 server, and handlers.

Everything here is real: a gRPC server on 127.0.0.1 port 0, an S3-compatible HTTP endpoint
reached by boto3 through AWS_ENDPOINT_URL_S3, and the Lambda handler built by the same code
the function runs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder import settings
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.runtime import Runtime
from grpc_transcoder.observe import access_log

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_SET = ROOT / "descriptors" / "library.binpb"

# boto3 must never reach AWS from the tests; the S3 fixture points it at moto.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # keep grpc-core INFO lines out of test output

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="session")
def registry() -> Registry:
    return example_backend.load_registry(LIBRARY_SET)


@pytest.fixture(scope="session")
def kinds(registry: Registry) -> Descriptor:
    """library.v1.Kinds: one field of every kind."""
    return registry.pool.FindMessageTypeByName("library.v1.Kinds")


@pytest.fixture(scope="session")
def codec(registry: Registry) -> JsonCodec:
    """The JSON codec of the example descriptors, with the default options."""
    return JsonCodec(registry.pool, JsonOptions())


@pytest.fixture(scope="session")
def backend(registry: Registry) -> Iterator[example_backend.RunningBackend]:
    running = example_backend.start("127.0.0.1:0", registry=registry)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP; boto3 finds it through AWS_ENDPOINT_URL_S3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous = os.environ.get("AWS_ENDPOINT_URL_S3")
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    yield endpoint
    server.stop()
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    else:
        os.environ["AWS_ENDPOINT_URL_S3"] = previous


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    """A boto3 S3 client on a freshly reset moto server."""
    import boto3
    import urllib3

    urllib3.PoolManager().request("POST", f"{s3_endpoint}/moto-api/reset")
    return boto3.client("s3", endpoint_url=s3_endpoint)


def runtime_for(**overrides: Any) -> Runtime:
    """A Runtime whose settings are the defaults plus `overrides` (no environment)."""
    return Runtime(lambda: settings.load({}, **overrides))


@pytest.fixture
def make_library_handler(backend: example_backend.RunningBackend) -> Callable[..., Handler]:
    """Build the real handler for the example API; keyword arguments override settings."""

    def make(**overrides: Any) -> Handler:
        overrides.setdefault("descriptors", (str(LIBRARY_SET),))
        overrides.setdefault("backends", (("*", backend.target),))
        return make_handler(runtime_for(**overrides))

    return make


@pytest.fixture
def library_handler(make_library_handler: Callable[..., Handler]) -> Handler:
    return make_library_handler()


@pytest.fixture(scope="session")
def stock(registry: Registry) -> Iterator[Any]:
    """A second backend serving a service the example descriptors do not contain."""
    from tests import generic_backend

    running = generic_backend.start(registry)
    yield running
    running.stop()


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext(timeout_ms=10_000)


AccessLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def access_lines(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> AccessLines:
    """The access log lines written so far, parsed, wherever they went: with metrics on (the
    default) each is the metrics line on stdout; with them off, a record of the access logger
    (text format: the message is the JSON)."""
    caplog.set_level(logging.INFO, logger=access_log.ACCESS_LOGGER)
    printed: list[dict[str, Any]] = []

    def lines() -> list[dict[str, Any]]:
        for line in capsys.readouterr().out.splitlines():
            if line.startswith("{"):
                document = json.loads(line)
                if document.get("event") == "request":
                    printed.append(document)
        logged = [
            json.loads(record.getMessage())
            for record in caplog.records
            if record.name == access_log.ACCESS_LOGGER and record.getMessage().startswith("{")
        ]
        return printed + [line for line in logged if line.get("event") == "request"]

    return lines
