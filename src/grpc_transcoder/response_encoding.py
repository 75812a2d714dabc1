"""Response encoding: the backend's response message as an HTTP response.

Input: the route and the serialized response message. Output: a `Reply` (status, headers,
body) in proto3 JSON, honouring `response_body`.
"""

from __future__ import annotations

import orjson

from grpc_transcoder.descriptors import Registry
from grpc_transcoder.exchange import Reply
from grpc_transcoder.json_codec import JsonCodec
from grpc_transcoder.routing import Route


def encode_unary(route: Route, response: bytes, *, registry: Registry, codec: JsonCodec) -> Reply:
    message = registry.message_class(route.method.output).FromString(response)
    value = codec.encode(message)
    if route.response_body:
        field_descriptor = route.method.output.fields_by_name[route.response_body]
        key = field_descriptor.name if codec.options.use_proto_names else field_descriptor.json_name
        value = value.get(key)
    return Reply(200, orjson.dumps(value))
