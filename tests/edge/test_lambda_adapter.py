"""The Lambda adapter: every event answered by the pipeline, in the shape its source expects.

Responses are shaped by Mangum's own event handlers: these tests pin what each source gets
(text or base64 bodies, single or multi-value headers, HEAD without a body) and that nothing
escapes to Lambda, whatever the event.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any

import orjson
import pytest
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.lambda_handler import make_handler
from tests.conftest import LIBRARY_SET, AccessLines, Handler, runtime_for
from tests.event_builder import Source, build, response_body, response_header

EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]
BOOK = "/v1/shelves/fiction/books/dune"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_json_answer_is_text_with_its_content_type(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = library_handler(build(source, "GET", BOOK), context)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert orjson.loads(response["body"])["name"] == "shelves/fiction/books/dune"
    assert response_header(response, "content-type") == "application/json"


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_binary_answer_goes_base64(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    response = library_handler(build(source, "GET", f"{BOOK}/cover"), context)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == response_body(response)
    assert response_body(response).startswith(b"\x89PNG")


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_head_keeps_the_headers_and_drops_the_body(
    library_handler: Handler, context: LambdaContext, source: Source
) -> None:
    get = library_handler(build(source, "GET", BOOK), context)
    head = library_handler(build(source, "HEAD", BOOK), context)
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert response_header(head, "content-length") == str(len(response_body(get)))


@pytest.mark.parametrize(
    ("source", "header_keys"),
    [
        pytest.param(Source.REST_API, {"headers", "multiValueHeaders"}, id="rest_api"),
        pytest.param(Source.HTTP_API, {"headers"}, id="http_api"),
        pytest.param(Source.FUNCTION_URL, {"headers"}, id="function_url"),
        pytest.param(Source.ALB, {"headers"}, id="alb"),
        pytest.param(Source.ALB_MULTI_VALUE, {"multiValueHeaders"}, id="alb_multi_value"),
    ],
)
def test_each_source_gets_its_own_response_shape(
    library_handler: Handler, context: LambdaContext, source: Source, header_keys: set[str]
) -> None:
    response = library_handler(build(source, "GET", "/v1/no/such/route"), context)
    assert response["statusCode"] == 404
    assert header_keys <= set(response)
    assert orjson.loads(response["body"])["code"] == 5


def test_the_handler_runs_in_a_thread_without_an_event_loop(
    backend: example_backend.RunningBackend, context: LambdaContext
) -> None:
    runtime = runtime_for(descriptors=(str(LIBRARY_SET),), backends=(("*", backend.target),))
    handler = make_handler(runtime)
    event = build(Source.HTTP_API, "GET", "/v1/shelves/fiction")
    answers: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: answers.append(handler(event, context)))
    thread.start()
    thread.join(timeout=30)
    assert [answer["statusCode"] for answer in answers] == [200]


class _BrokenContext:
    """A context whose clock fails: an unexpected error inside the adapter itself."""

    aws_request_id = "broken"

    def get_remaining_time_in_millis(self) -> int:
        raise RuntimeError("the context is broken")


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_an_unexpected_failure_answers_500_in_json_and_the_adapter_keeps_serving(
    library_handler: Handler,
    context: LambdaContext,
    caplog: pytest.LogCaptureFixture,
    source: Source,
) -> None:
    event = build(source, "GET", BOOK)
    with caplog.at_level(logging.ERROR, logger="grpc_transcoder.edge.adapter"):
        failed = library_handler(event, _BrokenContext())
    assert failed["statusCode"] == 500
    assert orjson.loads(failed["body"]) == {
        "code": 13,
        "message": "internal error in the Lambda adapter",
        "details": [],
    }
    assert "Traceback" in caplog.text  # the cause stays in the log, not in the answer
    assert library_handler(event, context)["statusCode"] == 200


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": [{"eventSource": "aws:sqs"}]}, {"version": "1.0", "payload": "x"}, []],
    ids=["empty", "sqs", "custom", "a-list"],
)
def test_an_event_from_no_http_source_answers_400_naming_it(
    library_handler: Handler,
    context: LambdaContext,
    access_lines: AccessLines,
    event: Any,
) -> None:
    response = library_handler(event, context)
    assert response["statusCode"] == 400
    assert "not an HTTP event" in orjson.loads(response["body"])["message"]
    (line,) = access_lines()  # the access log has its line
    assert (line["httpStatus"], line["httpMethod"]) == (400, "-")


def _broken(source: Source, change: str) -> dict[str, Any]:
    event = build(source, "POST", "/v1/shelves", body='{"theme": "x"}')
    if change == "method":
        if "httpMethod" in event:
            event["httpMethod"] = 7
        else:
            event["requestContext"]["http"]["method"] = None
    elif change == "headers":
        event["headers"] = {"content-type": ["application/json"]}
        event.pop("multiValueHeaders", None)
    elif change == "base64":
        event["isBase64Encoded"] = True
        event["body"] = "not base64!"
    else:
        event["body"] = "\ud800"
    return event


@pytest.mark.parametrize("source", EVERY_SOURCE)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("method", "not a valid"),
        ("headers", "not a valid"),
        ("base64", "not valid base64"),
        ("surrogate", "not valid UTF-8"),
    ],
)
def test_an_event_its_source_cannot_send_answers_400(
    library_handler: Handler, context: LambdaContext, source: Source, change: str, message: str
) -> None:
    response = library_handler(_broken(source, change), context)
    assert response["statusCode"] == 400
    assert message in orjson.loads(response_body(response))["message"]
