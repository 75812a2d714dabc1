"""Hostile bodies: every shape answers a small error and never costs more than a good body.

Each shape of `hostile_shapes` goes through the real handler from every event source. The
answer is bounded (at most MAX_REPORTED_PROBLEMS violations, tens of KiB) whatever the input;
the well-formed twin of the same size is accepted. CPU and memory per shape are benchmark
figures (`./tasks bench --only hostile`), not asserted here.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.errors import BAD_REQUEST_TYPE, MAX_REPORTED_PROBLEMS
from tests import hostile_shapes
from tests.conftest import Handler
from tests.event_builder import Source, response_body
from tests.hostile_shapes import SHAPES, Shape

MIB = 1 << 20
MAX_ERROR_BYTES = 64 * 1024
SHAPE_IDS = [pytest.param(shape, id=shape.name) for shape in SHAPES]


def _answer(
    handler: Handler,
    context: LambdaContext,
    shape: Shape,
    kind: str,
    source: Source,
    size: int = MIB,
) -> tuple[int, bytes]:
    request = getattr(shape, kind)(size)
    response = handler(hostile_shapes.event(request, source), context)
    return response["statusCode"], response_body(response)


def _grpc_web_status(body: bytes) -> int:
    """The grpc-status of a gRPC-Web answer (its trailer frame)."""
    trailer = body[body.rindex(b"\x80") + 5 :].decode()
    return int(trailer.partition("grpc-status: ")[2].partition("\r\n")[0])


def _violations(body: bytes) -> list[Any]:
    details = orjson.loads(body)["details"]
    found = [d for d in details if d["@type"] == BAD_REQUEST_TYPE]
    return found[0]["fieldViolations"] if found else []


@pytest.mark.parametrize("source", [pytest.param(s, id=s.value) for s in Source])
@pytest.mark.parametrize("shape", SHAPE_IDS)
def test_a_hostile_body_answers_a_small_error(
    library_handler: Handler, context: LambdaContext, shape: Shape, source: Source
) -> None:
    status, body = _answer(library_handler, context, shape, "hostile", source)
    assert len(body) <= MAX_ERROR_BYTES
    if shape.name == "web-frames":  # gRPC-Web answers every error in its trailer frame
        assert status == 200
        assert _grpc_web_status(body) == 3
        return
    assert status == 400
    assert len(_violations(body)) <= MAX_REPORTED_PROBLEMS
    assert "Traceback" not in body.decode()


@pytest.mark.parametrize("shape", SHAPE_IDS)
def test_its_well_formed_twin_of_the_same_size_is_accepted(
    library_handler: Handler, context: LambdaContext, shape: Shape
) -> None:
    status, _ = _answer(library_handler, context, shape, "honest", Source.HTTP_API)
    assert status in (200, 201)


def test_a_4_mib_body_of_unknown_keys_reports_the_first_100_and_says_it_stopped(
    library_handler: Handler, context: LambdaContext
) -> None:
    shape = next(s for s in SHAPES if s.name == "unknown-keys")
    status, body = _answer(library_handler, context, shape, "hostile", Source.REST_API, 4 * MIB)
    assert status == 400
    error = orjson.loads(body)
    assert len(_violations(body)) == MAX_REPORTED_PROBLEMS
    assert error["message"].startswith("100 or more problems: k0: ")  # as the client wrote it
    assert error["message"].endswith("decoding stopped after 100 problems")
    assert len(body) <= MAX_ERROR_BYTES


def test_every_violation_is_clipped_whatever_the_key_and_value(
    library_handler: Handler, context: LambdaContext
) -> None:
    long_key = "k" * 100_000
    value = {long_key: 1, "fInt32": "9" * 200_000, "rNested": [{long_key: [[["x" * 50_000]]]}]}
    request = hostile_shapes._json("/v1/debug/kinds:echo", value)
    response = library_handler(hostile_shapes.event(request), context)
    body = response_body(response)
    assert response["statusCode"] == 400
    assert len(body) < 4096
    for violation in _violations(body):
        assert len(violation["field"]) <= 160
        assert len(violation["description"]) <= 240


def test_the_same_bound_holds_for_query_and_body_problems_together(
    library_handler: Handler, context: LambdaContext
) -> None:
    query = "&".join(f"bad{i}=1" for i in range(300))
    request = hostile_shapes.unknown_keys(10_000)
    event = hostile_shapes.event(request)
    event["rawQueryString"] = query
    response = library_handler(event, context)
    error = orjson.loads(response_body(response))
    assert response["statusCode"] == 400
    assert len(_violations(response_body(response))) == MAX_REPORTED_PROBLEMS
    assert "more not listed" in error["message"]


def test_a_base64_body_is_decoded_once_and_bounded_like_any_other(
    library_handler: Handler, context: LambdaContext
) -> None:
    hostile = hostile_shapes.unknown_keys(MIB)
    encoded = hostile_shapes.Request(
        hostile.method,
        hostile.path,
        hostile.content_type,
        base64.b64encode(hostile.body),
        base64=True,
    )
    response = library_handler(hostile_shapes.event(encoded, Source.ALB), context)
    assert response["statusCode"] == 400
    assert len(_violations(response_body(response))) == MAX_REPORTED_PROBLEMS
