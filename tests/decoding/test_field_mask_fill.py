"""field_mask_fill: PATCH requests get their update mask from the JSON keys of the body."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from grpc_transcoder.decoding.field_mask_fill import paths_of
from grpc_transcoder.decoding.field_plans import PlanCache
from grpc_transcoder.decoding.request import RequestDecoder
from grpc_transcoder.errors import RequestError
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing import table as routing
from grpc_transcoder.routing.table import Match, RouteTable

BOOK = "/v1/shelves/fiction/books/dune"


@pytest.fixture(scope="module")
def table(registry: Registry) -> RouteTable:
    routes, _ = routing.routes_for(registry)
    return RouteTable(routes)


def update_book(
    registry: Registry,
    table: RouteTable,
    body: Any,
    *,
    method: str = "PATCH",
    query: str = "",
    ignore_unknown: bool = False,
) -> list[str]:
    codec = JsonCodec(registry.pool, JsonOptions(ignore_unknown_fields=ignore_unknown))
    match = table.match("PATCH", BOOK)
    message: Any = registry.message_class(match.route.method.input)()
    http = HttpRequest(method=method, path=BOOK, query=query, body=orjson.dumps(body))
    RequestDecoder(codec).decode(match, http, message)
    return list(message.update_mask.paths)


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        pytest.param({"title": "Dune"}, ["title"], id="one-key"),
        pytest.param({"pageCount": 1, "copies_sold": "2"}, ["page_count", "copies_sold"], id="both-names"),
        pytest.param({"labels": {"a": "b"}}, ["labels"], id="map-is-a-leaf"),
        pytest.param({"metadata": {"a": {"b": 1}}}, ["metadata"], id="struct-is-a-leaf"),
        pytest.param({"reviews": [{"stars": 5}]}, ["reviews"], id="list-is-a-leaf"),
        pytest.param({"publishTime": "2020-01-01T00:00:00Z"}, ["publish_time"], id="timestamp-is-a-leaf"),
        pytest.param({"edition": 2}, ["edition"], id="wrapper-is-a-leaf"),
        pytest.param({"subtitle": None}, ["subtitle"], id="null-clears"),
        pytest.param({}, [], id="empty-object"),
        pytest.param({"name": BOOK[4:]}, ["name"], id="name-agreeing-with-the-path"),
    ],
)  # fmt: skip
def test_mask_from_the_body_keys(
    registry: Registry, table: RouteTable, body: Any, paths: list[str]
) -> None:
    assert update_book(registry, table, body) == paths


def test_a_mask_the_client_sent_is_kept(registry: Registry, table: RouteTable) -> None:
    paths = update_book(registry, table, {"title": "x", "pageCount": 1}, query="updateMask=title")
    assert paths == ["title"]


def test_only_patch_fills_the_mask(registry: Registry, table: RouteTable) -> None:
    assert update_book(registry, table, {"title": "x"}, method="PUT") == []


def test_ignored_unknown_keys_stay_out_of_the_mask(registry: Registry, table: RouteTable) -> None:
    paths = update_book(registry, table, {"title": "x", "colour": 1}, ignore_unknown=True)
    assert paths == ["title"]


def test_nested_messages_give_dotted_paths(registry: Registry, table: RouteTable) -> None:
    # Kinds has a FieldMask field and nested messages: PATCH it with body "f_nested".
    match = table.match("POST", "/v1/debug/kinds:echo")
    route = replace(match.route, http_method="PATCH", body="f_nested")
    body = {
        "label": "x",
        "child": {"fInt32": 1, "fNested": {"count": 2}, "mString": {"a": "b"}, "wStruct": {"k": 1}},
        "nothing": None,
    }
    message: Any = registry.message_class(route.method.input)()
    codec = JsonCodec(registry.pool, JsonOptions(ignore_unknown_fields=True))
    http = HttpRequest(method="PATCH", path="/", body=orjson.dumps(body))
    RequestDecoder(codec).decode(Match(route, ()), http, message)
    assert list(message.w_field_mask.paths) == [
        "label",
        "child.f_int32",
        "child.f_nested.count",
        "child.m_string",
        "child.w_struct",
    ]


def test_an_empty_object_for_a_message_is_a_leaf(registry: Registry) -> None:
    kinds = registry.pool.FindMessageTypeByName("library.v1.Kinds")
    plans = PlanCache(json=JsonCodec(registry.pool, JsonOptions()))
    paths = paths_of({"fNested": {}, "c_nested": {"child": {}}}, plans.plan(kinds), plans)
    assert paths == ["f_nested", "c_nested.child"]


def test_no_mask_without_a_message_body_field(registry: Registry, table: RouteTable) -> None:
    match = table.match("POST", "/v1/debug/kinds:echo")
    route = replace(match.route, http_method="PATCH", body="r_string")
    message: Any = registry.message_class(route.method.input)()
    http = HttpRequest(method="PATCH", path="/", body=b'["a"]')
    RequestDecoder(JsonCodec(registry.pool, JsonOptions())).decode(Match(route, ()), http, message)
    assert list(message.r_string) == ["a"]
    assert not message.HasField("w_field_mask")


def test_a_null_body_is_refused(registry: Registry, table: RouteTable) -> None:
    with pytest.raises(RequestError, match="the body is JSON null"):
        update_book(registry, table, None)
