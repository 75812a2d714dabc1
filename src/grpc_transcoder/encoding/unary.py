"""Response encoding: the backend's response message as the HTTP reply.

Input: the route and the serialized response message. Output: a `Reply` holding the proto3 JSON
of the message, or of the one field its `response_body` names (any field type); or, for a
google.api.HttpBody (the response itself or its `response_body` field), the raw bytes of `data`
with its `content_type`. One `ResponseEncoder` per descriptor version (on the `State`) keeps the
plan of each response type and field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, cast

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.exchange import HTTP_BODY, Reply
from grpc_transcoder.json.codec import JsonCodec
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.routing.table import Route

# An HttpBody without a content_type is sent as opaque bytes.
DEFAULT_BODY_TYPE = "application/octet-stream"


class Body(enum.Enum):
    """What the HTTP body of a route's answer is made of."""

    MESSAGE = "message"  # the JSON of the whole response message
    FIELD = "field"  # the JSON of the response_body field
    RAW = "raw"  # the response is an HttpBody: its data, as its content_type
    RAW_FIELD = "raw_field"  # the response_body field is an HttpBody


@dataclass(frozen=True, slots=True)
class Plan:
    """How to turn one response type into a body; `field` is set for FIELD and RAW_FIELD."""

    body: Body
    field: FieldDescriptor | None = None


class ResponseEncoder:
    """Turns the response messages of one descriptor version into replies."""

    def __init__(self, registry: Registry, codec: JsonCodec) -> None:
        self.registry = registry
        self.codec = codec
        self._plans: dict[tuple[Descriptor, str], Plan] = {}  # bounded by the routes

    def unary(self, route: Route, response: bytes) -> Reply:
        """The reply to a unary call: `response` is the serialized response message."""
        message = self.registry.message_class(route.method.output).FromString(response)
        return self.message_reply(message, route)

    def message_reply(self, message: Message, route: Route) -> Reply:
        """The reply carrying `message` as `route` answers: JSON, or an HttpBody's bytes."""
        found = self.plan(route)
        if found.body is Body.RAW:
            return _raw(message)
        if found.body is Body.RAW_FIELD:
            return _raw(getattr(message, cast(FieldDescriptor, found.field).name))
        return Reply(200, orjson.dumps(_json(message, found, self.codec)))

    def json_value(self, message: Message, route: Route) -> Any:
        """The JSON value `route` answers with: the message's, or its response_body field's.

        For a route answering raw bytes (HttpBody), the JSON of what holds them.
        """
        return _json(message, self.plan(route), self.codec)

    def plan(self, route: Route) -> Plan:
        """How responses of the route's type become a body; computed once per type and field."""
        key = (route.method.output, route.response_body)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = plan(*key)
        return found


def plan(output: Descriptor, response_body: str) -> Plan:
    """How responses of type `output` become a body."""
    if not response_body:
        return Plan(Body.RAW if output.full_name == HTTP_BODY else Body.MESSAGE)
    field = output.fields_by_name[response_body]  # routing checked it names a field
    entry = field.message_type
    if entry is not None and entry.full_name == HTTP_BODY and not field.is_repeated:
        return Plan(Body.RAW_FIELD, field)
    return Plan(Body.FIELD, field)


def _json(message: Message, found: Plan, codec: JsonCodec) -> Any:
    if found.body is Body.FIELD:
        return codec.encode_field(message, cast(FieldDescriptor, found.field))
    return codec.encode(message)


def _raw(http_body: Any) -> Reply:
    return Reply(
        200, bytes(http_body.data), content_type=http_body.content_type or DEFAULT_BODY_TYPE
    )
