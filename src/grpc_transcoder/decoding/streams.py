"""Stream decoding: a client-streaming request body as the stream of request messages.

Input: the body (a JSON array or one JSON object whatever its text Content-Type, or NDJSON
with `Content-Type: application/x-ndjson`), the route and its path and query bindings.
Output: the serialized request messages, in order. Problems raise RequestError naming the
element.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
from google.protobuf.message import Message

from grpc_transcoder.decoding.body_targets import cannot_be_json
from grpc_transcoder.decoding.field_values import JsonDecoder
from grpc_transcoder.decoding.request import RequestDecoder, as_sent
from grpc_transcoder.errors import FieldViolation, RequestError, check_request_size
from grpc_transcoder.exchange import HttpRequest, media_type
from grpc_transcoder.json import documents
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing.table import Match

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})


def elements(body: bytes, content_type: str, *, limit: int = 0) -> list[Any]:
    """The JSON values of the stream: NDJSON lines, array elements, or one object.

    More than `limit` values (0: no limit) raise RequestError before any is decoded.
    """
    kind = media_type(content_type)[0]
    if kind in NDJSON_TYPES:
        if limit and body.count(b"\n") >= limit:  # more lines than that, or blank ones
            lines = sum(1 for line in body.split(b"\n") if line.strip())
            check_count(lines, limit)
        return list(_ndjson(body))
    if cannot_be_json(kind):
        raise RequestError(
            f"unsupported Content-Type {kind!r} for a request stream; send a JSON array"
            " (application/json) or one message per line (application/x-ndjson)",
            status=415,
        )
    if not body.strip():
        return []
    value = _loads(body, "the body")
    values = value if isinstance(value, list) else [value]
    check_count(len(values), limit)
    return values


def check_count(count: int, limit: int) -> None:
    """Refuse a request stream of more than `limit` messages (0: no limit)."""
    if limit and count > limit:
        raise RequestError(
            f"the request stream holds more than {limit} messages (TRANSCODER_MAX_STREAM_MESSAGES)",
            violations=[FieldViolation("", f"more than {limit} messages")],
        )


def _ndjson(body: bytes) -> Iterator[Any]:
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.strip():
            yield _loads(line, f"line {number} of the NDJSON body")


def _loads(data: bytes, what: str) -> Any:
    try:
        return documents.loads(data)
    except (orjson.JSONDecodeError, documents.DuplicateKeyError) as exc:
        raise RequestError(
            f"{what} is not valid JSON: {exc}", violations=[FieldViolation("", str(exc))]
        ) from None


def decode(
    match: Match, request: HttpRequest, *, decoder: RequestDecoder, registry: Registry
) -> list[bytes]:
    """Every request message of the stream, serialized.

    Each element is a whole message (or, for a rule with `body: "field"`, that field); path
    and query bindings are decoded once and merged into every message, so they win over
    the element as they do for unary calls.
    """
    route = match.route
    check_request_size(request.body, decoder.options.max_request_bytes, what="the request stream")
    message_class = registry.message_class(route.method.input)
    bindings = _bindings(match, request, message_class(), decoder)
    messages: list[bytes] = []
    limit = decoder.options.max_stream_messages
    for index, value in enumerate(elements(request.body, request.content_type, limit=limit)):
        message = message_class()
        _decode_element(index, value, message, route.body, decoder.json)
        message.MergeFrom(bindings)
        messages.append(message.SerializeToString())
    return messages


def _bindings(
    match: Match, request: HttpRequest, message: Message, decoder: RequestDecoder
) -> Message:
    """Path and query bindings alone, through the request decoder with the body rule removed.

    With `body: "*"` every field comes from the body, so the query is not bound (as for unary).
    """
    route = match.route
    unbodied = Match(replace(route, body=""), match.bindings)
    query = "" if route.body == "*" else request.query
    decoder.decode(unbodied, replace(request, body=b"", query=query), message)
    return message


def _decode_element(index: int, value: Any, message: Message, body: str, json: JsonDecoder) -> None:
    try:
        if body in ("", "*"):
            json.decode(value, message)
        else:
            for name in reversed(body.split(".")):  # the element's value, placed at its field
                value = {name: value}
            try:
                json.decode(value, message)
            except RequestError as exc:
                raise as_sent(exc, body) from None
    except RequestError as exc:
        raise in_stream(exc, index, f"request stream element {index}") from None


def in_stream(error: RequestError, index: int, what: str) -> RequestError:
    """The problems of one message of a request stream: field paths under `[index]`, the
    message opened by `what` ("request stream element 2")."""
    at = f"[{index}]"
    return RequestError(
        f"{what}: {error.message}",
        violations=[
            FieldViolation(f"{at}.{v.field}" if v.field else at, v.description)
            for v in error.violations
        ],
        unlisted=error.unlisted,
        stopped=error.stopped,
    )
