"""The path-only shortcut: a request with no body and no query to a route without a body sets
its path variables straight, and must leave the message exactly as the full decode does, or
fall back to the full decode (which names the problem)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message
from grpc_transcoder_tools import example_backend

from grpc_transcoder.decoding.request import RequestDecoder
from grpc_transcoder.errors import RequestError
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.table import RouteTable
from tests.support import compile_set

PATHS_PROTO = """
syntax = "proto3";
package paths.v1;

import "google/api/annotations.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message Ref { int64 id = 1; }
message GetRequest {
  int64 id = 1;
  Color color = 2;
  bool flag = 3;
  oneof pick { string key = 4; uint32 number = 5; }
  Ref ref = 6;
  optional double score = 7;
  string name = 8;
  string ignored = 9;
}

service Paths {
  rpc Get(GetRequest) returns (GetRequest) {
    option (google.api.http) = {
      get: "/v1/items/{id}/{color}/{flag}"
      additional_bindings { get: "/v1/keys/{key}" }
      additional_bindings { get: "/v1/refs/{ref.id}" }
      additional_bindings { get: "/v1/scores/{score}" }
      additional_bindings { get: "/v1/{name=names/**}" }
      additional_bindings { delete: "/v1/items/{id}" }
      additional_bindings { patch: "/v1/names/{name}" body: "*" }
    };
  }
}
"""


class FullDecoder(RequestDecoder):
    """The reference: every request takes the full decode."""

    def _path_only(self, *_args: Any) -> bool:
        return False


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, RouteTable]:
    registry = example_backend.load_registry(
        compile_set(tmp_path_factory.mktemp("paths"), PATHS_PROTO, "paths")
    )
    routes, _ = routing.routes_for(registry)
    return registry, RouteTable(routes)


def _outcome(
    decoder: RequestDecoder, api: tuple[Registry, RouteTable], method: str, path: str
) -> tuple[str, Any]:
    registry, table = api
    match = table.match(method, path)
    message: Message = registry.message_class(match.route.method.input)()
    try:
        decoder.decode(match, HttpRequest(method=method, path=path), message)
    except RequestError as error:
        return "error", (error.status, error.message, [v.field for v in error.violations])
    return "ok", message.SerializeToString(deterministic=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/items/42/RED/true"),
        ("GET", "/v1/items/-9223372036854775808/1/false"),
        ("GET", "/v1/items/x/RED/true"),  # not an int64
        ("GET", "/v1/items/1/PURPLE/true"),  # no such enum value
        ("GET", "/v1/items/1/RED/maybe"),  # not a bool
        ("GET", "/v1/items/99999999999999999999/RED/true"),  # out of range
        ("GET", "/v1/keys/k1"),  # a oneof member
        ("GET", "/v1/refs/7"),  # a nested field
        ("GET", "/v1/scores/0"),  # an optional scalar: present even at zero
        ("GET", "/v1/scores/NaN"),
        ("GET", "/v1/names/a%2Fb/c"),  # escapes in a multi-segment variable
        ("GET", "/v1/names/%E2%82%AC"),
        ("DELETE", "/v1/items/5"),
        ("PATCH", "/v1/names/n"),  # has a body: never the shortcut
    ],
)
def test_the_shortcut_decodes_as_the_full_decode(
    api: tuple[Registry, RouteTable], method: str, path: str
) -> None:
    registry, _ = api
    codec = JsonCodec(registry.pool, JsonOptions())
    fast, full = RequestDecoder(codec), FullDecoder(codec)
    for _ in range(2):  # the second time, from the compiled setters
        assert _outcome(fast, api, method, path) == _outcome(full, api, method, path)


def test_the_shortcut_is_taken_for_top_level_scalars_only(
    api: tuple[Registry, RouteTable],
) -> None:
    registry, table = api
    decoder = RequestDecoder(JsonCodec(registry.pool, JsonOptions()))
    taken = {}
    for path in ("/v1/items/1/RED/true", "/v1/keys/k", "/v1/refs/1", "/v1/scores/1"):
        match = table.match("GET", path)
        message = registry.message_class(match.route.method.input)()
        taken[path] = decoder._path_only(match, message)
    assert taken == {
        "/v1/items/1/RED/true": True,
        "/v1/keys/k": False,  # oneof
        "/v1/refs/1": False,  # nested
        "/v1/scores/1": True,
    }


def test_a_query_or_a_body_takes_the_full_decode(api: tuple[Registry, RouteTable]) -> None:
    registry, table = api
    decoder = RequestDecoder(JsonCodec(registry.pool, JsonOptions()))
    match = table.match("GET", "/v1/scores/1")
    message: Any = registry.message_class(match.route.method.input)()
    with pytest.raises(RequestError) as raised:
        decoder.decode(
            match, HttpRequest(method="GET", path="/v1/scores/1", query="nope=1"), message
        )
    assert [v.field for v in raised.value.violations] == ["nope"]
    message = registry.message_class(match.route.method.input)()
    decoder.decode(match, HttpRequest(method="GET", path="/v1/scores/1", query="name=n"), message)
    assert (message.score, message.name) == (1.0, "n")
