"""Nested body field paths (`body: "update.note"`), end to end through the handler.

As in Envoy and grpc-httpjson-transcoding: the body fills a field inside a field, a nested
`google.api.HttpBody` takes the raw body and its content type, path variables and query
parameters fill the rest, and problems are named as the client wrote them. A small API is
compiled for the purpose and served by an echo backend on loopback.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from grpc_transcoder.lambda_handler import make_handler
from tests.conftest import Handler, runtime_for
from tests.event_builder import Source, build
from tests.support import answer, compile_set

NOTES_PROTO = """
syntax = "proto3";
package notes.v1;

import "google/api/annotations.proto";
import "google/api/httpbody.proto";

message Note { string text = 1; int32 stars = 2; }
message Update {
  Note note = 1;
  string tag = 2;
  google.api.HttpBody blob = 3;
  repeated string lines = 4;
}
message EditRequest { string name = 1; Update update = 2; }

service Notes {
  rpc Edit(EditRequest) returns (EditRequest) {
    option (google.api.http) = {
      post: "/v1/notes/{name}:edit"
      body: "update.note"
      additional_bindings { put: "/v1/notes/{name}/blob" body: "update.blob" }
      additional_bindings { post: "/v1/notes/{name}/lines" body: "update.lines" }
    };
  }
}
"""
EVERY_SOURCE = [pytest.param(source, id=source.value) for source in Source]


@pytest.fixture(scope="module")
def notes_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_set(tmp_path_factory.mktemp("notes"), NOTES_PROTO, "notes")


@pytest.fixture(scope="module")
def echo_backend() -> Iterator[str]:
    """Answers Notes.Edit with its own request (the response type is the request type)."""

    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "notes.v1.Notes", {"Edit": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None).wait()


@pytest.fixture
def notes(notes_set: Path, echo_backend: str) -> Callable[..., Handler]:
    def make(**overrides: Any) -> Handler:
        runtime = runtime_for(
            descriptors=(str(notes_set),), backends=(("*", echo_backend),), **overrides
        )
        return make_handler(runtime)

    return make


def _call(
    handler: Handler, source: Source, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    return answer(handler, build(source, method, path, **kwargs))


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_the_body_fills_a_field_inside_a_field(
    notes: Callable[..., Handler], source: Source
) -> None:
    status, echoed = _call(
        notes(),
        source,
        "POST",
        "/v1/notes/n1:edit",
        query=[("update.tag", "red")],
        body='{"text": "hello", "stars": 4}',
        headers=[("content-type", "application/json")],
    )
    assert status == 200, echoed
    assert echoed == {
        "name": "n1",
        "update": {"note": {"text": "hello", "stars": 4}, "tag": "red", "lines": []},
    }


def test_a_form_fills_the_nested_field_too(notes: Callable[..., Handler]) -> None:
    form = [("content-type", "application/x-www-form-urlencoded")]
    status, echoed = _call(
        notes(), Source.HTTP_API, "POST", "/v1/notes/n1:edit", body="text=hi", headers=form
    )
    assert status == 200
    assert echoed["update"]["note"] == {"text": "hi", "stars": 0}


def test_a_query_parameter_inside_the_body_field_is_refused(
    notes: Callable[..., Handler],
) -> None:
    status, error = _call(
        notes(),
        Source.HTTP_API,
        "POST",
        "/v1/notes/n1:edit",
        query=[("update.note.stars", "2")],
        body="{}",
    )
    assert status == 400
    assert error["details"][0]["fieldViolations"] == [
        {
            "field": "update.note.stars",
            "description": "inside the request body field 'update.note'; it cannot be a query"
            " parameter",
        }
    ]


def test_problems_are_named_as_the_client_wrote_them(notes: Callable[..., Handler]) -> None:
    status, error = _call(
        notes(),
        Source.HTTP_API,
        "POST",
        "/v1/notes/n1:edit",
        body='{"txet": "x", "stars": "many"}',
    )
    assert status == 400
    fields = [v["field"] for v in error["details"][0]["fieldViolations"]]
    assert fields == ["txet", "stars"]


@pytest.mark.parametrize("source", EVERY_SOURCE)
def test_a_nested_http_body_takes_the_raw_bytes_and_content_type(
    notes: Callable[..., Handler], source: Source
) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\xff"
    status, echoed = _call(
        notes(),
        source,
        "PUT",
        "/v1/notes/n1/blob",
        query=[("update.tag", "img")],
        body=data,
        binary=True,
        headers=[("content-type", "image/png")],
    )
    assert status == 200, echoed
    blob = echoed["update"]["blob"]
    assert (blob["contentType"], base64.b64decode(blob["data"])) == ("image/png", data)
    assert echoed["update"]["tag"] == "img"


def test_a_nested_repeated_field_takes_a_json_array(notes: Callable[..., Handler]) -> None:
    status, echoed = _call(
        notes(), Source.HTTP_API, "POST", "/v1/notes/n1/lines", body='["a", "b"]'
    )
    assert status == 200
    assert echoed["update"]["lines"] == ["a", "b"]
    status, error = _call(notes(), Source.HTTP_API, "POST", "/v1/notes/n1/lines", body='["a", 5]')
    assert status == 400
    assert [v["field"] for v in error["details"][0]["fieldViolations"]] == ["[1]"]


def test_the_openapi_document_describes_the_nested_body(notes_set: Path) -> None:
    from grpc_transcoder.loading import registry as descriptors
    from grpc_transcoder.loading.sources import read_all
    from grpc_transcoder.reserved.openapi import document as openapi
    from grpc_transcoder.routing.table import routes_for

    registry = descriptors.build(read_all([str(notes_set)]))
    document = openapi.document(routes_for(registry)[0])
    edit = document["paths"]["/v1/notes/{name}:edit"]["post"]
    schema = edit["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("notes.v1.Note-Input")  # the request-side schema
    query = {p["name"] for p in edit["parameters"] if p["in"] == "query"}
    assert "update.tag" in query
    assert not any(name.startswith("update.note") for name in query)
    blob = document["paths"]["/v1/notes/{name}/blob"]["put"]["requestBody"]
    assert "*/*" in blob["content"]
