"""JSON codec: proto3 JSON to and from messages of the loaded descriptors.

Input: parsed JSON values (requests) or messages (responses). Output: messages or JSON bytes.
This first version delegates to protobuf's json_format; the codec issue replaces it with
per-type compiled converters that must give exactly the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import descriptor_pool, json_format
from google.protobuf.message import Message

from grpc_transcoder.errors import FieldViolation, RequestError


@dataclass(frozen=True, slots=True)
class JsonOptions:
    """Output and input options; the defaults are what grpc-gateway users expect."""

    use_proto_names: bool = False
    omit_unpopulated: bool = False
    enums_as_ints: bool = False
    ignore_unknown_fields: bool = False


class JsonCodec:
    def __init__(self, pool: descriptor_pool.DescriptorPool, options: JsonOptions) -> None:
        self._pool = pool
        self._options = options

    @property
    def options(self) -> JsonOptions:
        return self._options

    def decode(self, value: Any, message: Message, *, field_path: str = "") -> None:
        """Merge the JSON value `value` into `message`; raises RequestError naming the field."""
        try:
            json_format.ParseDict(
                value,
                message,
                ignore_unknown_fields=self._options.ignore_unknown_fields,
                descriptor_pool=self._pool,
            )
        except json_format.ParseError as exc:
            where = field_path or message.DESCRIPTOR.full_name
            raise RequestError(
                f"invalid value for {where}: {exc}",
                violations=[FieldViolation(field_path, str(exc))],
            ) from None

    def encode(self, message: Message) -> Any:
        """The JSON value of `message` (dicts, lists, strings, numbers)."""
        return json_format.MessageToDict(
            message,
            always_print_fields_with_no_presence=not self._options.omit_unpopulated,
            preserving_proto_field_name=self._options.use_proto_names,
            use_integers_for_enums=self._options.enums_as_ints,
            descriptor_pool=self._pool,
        )

    def dumps(self, message: Message) -> bytes:
        return orjson.dumps(self.encode(message))
