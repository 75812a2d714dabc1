"""Request decoding: path bindings, query parameters and the body into the request message.

Input: a routing `Match`, the query string, the body bytes and their content type. Output: the
request message. Every problem raises a RequestError (400, 413 or 415) naming the field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from google.protobuf.message import Message

from grpc_transcoder.errors import FieldViolation, RequestError
from grpc_transcoder.json_codec import JsonCodec
from grpc_transcoder.routing import Match


def decode(
    match: Match,
    message: Message,
    *,
    query: str,
    body: bytes,
    content_type: str,
    codec: JsonCodec,
) -> Message:
    """Fill `message` from the request; returns it."""
    route = match.route
    if route.body:
        _check_json(content_type)
        value = _json(body)
        if route.body == "*":
            codec.decode(value, message)
        else:
            codec.decode({route.body: value}, message, field_path=route.body)
    bound = _nest(match.bindings)
    if not route.body or route.body != "*":
        params = [(tuple(k.split(".")), v) for k, v in parse_qsl(query, keep_blank_values=True)]
        for path, value in params:
            _assign(bound, path, value)
    if bound:
        codec.decode(bound, message)
    return message


JSON_TYPES = ("application/json", "+json")


def _check_json(content_type: str) -> None:
    """An empty Content-Type means JSON; anything else must be a JSON type."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type and not media_type.endswith(JSON_TYPES):
        raise RequestError(
            f"unsupported Content-Type {media_type!r}; send application/json",
            status=415,
        )


def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(
            f"the body is not valid JSON: {exc}", violations=[FieldViolation("", str(exc))]
        ) from None


def _nest(bindings: tuple[tuple[tuple[str, ...], str], ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in bindings:
        _assign(tree, path, value)
    return tree


def _assign(tree: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for name in path[:-1]:
        tree = tree.setdefault(name, {})
    tree[path[-1]] = value
