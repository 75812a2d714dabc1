"""Helpers shared by the test modules: answers as (status, JSON), protobuf messages by type name,
descriptor sets compiled from .proto text. One copy each, imported where needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grpc_transcoder_tools import descriptor_build
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.loading.registry import Registry
from tests.event_builder import response_body, response_json

Handler = Any  # a Lambda handler: (event, context) -> response


def answer(handler: Handler, event: dict[str, Any], context: Any = None) -> tuple[int, Any]:
    """The status and the JSON body (None when empty) of the handler's answer to `event`."""
    response = handler(event, context or LambdaContext(timeout_ms=10_000))
    payload = response_json(response) if response_body(response) else None
    return response["statusCode"], payload


def serialized(registry: Registry, type_name: str, /, **fields: Any) -> bytes:
    """A library.v1 message with `fields` set, serialized."""
    value: Any = registry.new_message(f"library.v1.{type_name}")
    for key, item in fields.items():
        setattr(value, key, item)
    return bytes(value.SerializeToString())


def parsed(registry: Registry, type_name: str, data: bytes) -> Any:
    """A library.v1 message parsed from `data`."""
    value: Any = registry.new_message(f"library.v1.{type_name}")
    value.ParseFromString(data)
    return value


def compile_set(directory: Path, proto_text: str, name: str = "api") -> Path:
    """A descriptor set compiled from one .proto file's text (google/api protos included)."""
    proto = directory / f"{name}.proto"
    proto.write_text(proto_text)
    output = directory / f"{name}.binpb"
    output.write_bytes(descriptor_build.build([str(proto)], include=[str(directory)]))
    return output


class Clock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
