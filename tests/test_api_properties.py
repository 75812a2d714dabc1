"""Property-based API tests: schemathesis against the local server and the example backend.

The document under test is the one the transcoder serves at TRANSCODER_OPENAPI_PATH. Every
response must match it (status, content type, body schema), and no response may be a 5xx that
the transcoder itself caused. The run is bounded: a fixed number of derandomized examples per
operation, no shrinking, and short deadlines so slow calls end quickly.
"""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LocalServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation as GenericOperation

from grpc_transcoder import settings
from grpc_transcoder.errors import REQUEST_INFO_TYPE, Code
from grpc_transcoder.lambda_handler import make_handler
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.runtime import Runtime, build
from grpc_transcoder.reserved.openapi import document as openapi
from grpc_transcoder.settings import Settings
from tests.conftest import LIBRARY_SET

OPENAPI_PATH = "/openapi.json"
EXAMPLES_PER_OPERATION = 5
LAMBDA_TIMEOUT_MS = 3_000
Operation = GenericOperation[Any, Any, Any, Any]
ApiCase = Case[Operation]
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations whose backend fails with whatever status the request asks for.
CHOSEN_STATUS = "library.v1.DebugService.Fail"
# gRPC codes a 5xx carries when the backend, not the transcoder, failed: its own exception, a
# deadline it did not meet, an answer above the response size limit.
BACKEND_CODES = {Code.UNKNOWN, Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED, Code.DATA_LOSS}
# Values for the path parameters of resource names (`/v1/shelves/{shelves_id}/books/{books_id}`):
# ids of the example library, and ones that do not exist, so that cases reach real resources.
RESOURCE_IDS = {
    "shelves_id": ("fiction", "science", "attic"),
    "books_id": ("dune", "cosmos", "earthsea", "missing"),
}


def library_settings(backend: str) -> Settings:
    return settings.load(
        {},
        descriptors=(str(LIBRARY_SET),),
        backends=(("*", backend),),
        openapi_path=OPENAPI_PATH,
        max_deadline=(("*", 1.0),),
        metrics=False,
    )


# The operations are needed at collection, before any fixture runs; the `api` fixture checks
# that the local server serves this very document.
DOCUMENT = openapi.served_document(build(library_settings("127.0.0.1:1")))
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.config.update(request_timeout=10)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]
assert len(OPERATIONS) == sum(len(item) for item in DOCUMENT["paths"].values())


@pytest.fixture(scope="module")
def api(registry: Registry) -> Iterator[str]:
    """The local server (the real handler) on port 0 with its own backend; its URL."""
    backend = example_backend.start("127.0.0.1:0", registry=registry)
    runtime = Runtime(lambda: library_settings(backend.target))
    server = LocalServer(
        ("127.0.0.1", 0), make_handler(runtime), timeout_ms=LAMBDA_TIMEOUT_MS, verbose=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with urllib.request.urlopen(server.url + OPENAPI_PATH, timeout=10) as answer:  # noqa: S310
        assert orjson.loads(answer.read()) == DOCUMENT
    yield server.url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    backend.stop()


def cases(operation: Operation) -> st.SearchStrategy[ApiCase]:
    """Positive cases; the ids of resource names come from the example library."""
    choices: dict[str, list[str]] = {}
    for parameter in operation.definition.raw.get("parameters", []):
        ids = RESOURCE_IDS.get(parameter["name"]) if parameter["in"] == "path" else None
        if ids:
            pattern = parameter["schema"]["pattern"]
            assert all(re.fullmatch(pattern, value) for value in ids), operation.label
            choices[parameter["name"]] = list(ids)
    if not choices:
        return operation.as_strategy(GenerationMode.POSITIVE).filter(deliverable)
    combinations = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in choices.items()})
    return combinations.flatmap(
        lambda values: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=values)
    ).filter(deliverable)


def deliverable(case: ApiCase) -> bool:
    """Whether the case runs in bounded time: `Fail` with a generated `delay` would hold the
    call until its deadline, which only slows the run down without testing anything new."""
    return not (isinstance(case.body, dict) and "delay" in case.body)


@pytest.mark.parametrize("operation", [pytest.param(op, id=op.label) for op in OPERATIONS])
def test_responses_match_the_document(operation: Operation, api: str) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation))
    def check(case: ApiCase) -> None:
        response = case.call(base_url=api)
        case.validate_response(response, checks=CHECKS)
        assert_not_a_transcoder_error(case, response.status_code, response.content)

    check()


def assert_not_a_transcoder_error(case: ApiCase, status: int, body: bytes) -> None:
    """A 5xx must be the backend's failure passed on faithfully, never the transcoder's own."""
    operation_id = str(case.operation.definition.raw.get("operationId", ""))
    if status < 500 or operation_id.startswith(CHOSEN_STATUS):
        return
    where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
    error: dict[str, Any] = orjson.loads(body)  # the checks passed: the error schema
    details = {detail.get("@type") for detail in error["details"]}
    assert REQUEST_INFO_TYPE not in details, f"{where}: the transcoder failed: {error}"
    assert error["code"] in BACKEND_CODES, f"{where}: {status} caused by the transcoder: {error}"
