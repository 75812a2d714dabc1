"""JSON codec: proto3 JSON to and from messages of the loaded descriptors (the entry point).

Input: parsed JSON values (requests) or messages (responses). Output: messages, JSON values or
JSON bytes. Same results as protobuf's json_format, several times faster: each message type is
compiled on first use into field tables (`decode/`, `encode/`, `wellknown*`),
and whatever those do not cover is handed to json_format itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import orjson
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from grpc_transcoder.errors import (
    Code,
    FieldViolation,
    RequestError,
    TranscoderError,
    problems_error,
)
from grpc_transcoder.json.decode.messages import Decoders
from grpc_transcoder.json.encode import messages as json_encoding
from grpc_transcoder.json.encode.messages import ENCODE_FAILURES, Encoders, Style
from grpc_transcoder.json.problems import Invalid, render_path
from grpc_transcoder.json.wellknown import TypeUrls, UnknownTypeError


@dataclass(frozen=True, slots=True)
class JsonOptions:
    """How messages are printed and parsed; the defaults are what grpc-gateway users expect.

    - `use_proto_names`: print `page_count` rather than `pageCount` (Envoy:
      `preserve_proto_field_names`). Parsing accepts both spellings either way.
    - `omit_unpopulated`: leave out fields without presence that hold their zero value. The
      default prints them, as grpc-gateway does (`EmitUnpopulated`); Envoy omits them unless
      `always_print_primitive_fields` is set.
    - `enums_as_ints`: print enum numbers instead of names (Envoy: `always_print_enums_as_ints`).
    - `ignore_unknown_fields`: drop JSON keys that name no field, and enum names that name no
      value, instead of rejecting the request (Envoy rejects them; grpc-gateway drops them).
    - `enum_case_insensitive`: accept enum names in any letter case (Envoy:
      `case_insensitive_enum_parsing`; both references are case-sensitive by default).
    """

    use_proto_names: bool = False
    omit_unpopulated: bool = False
    enums_as_ints: bool = False
    ignore_unknown_fields: bool = False
    enum_case_insensitive: bool = False


class JsonEncodeError(TranscoderError):
    """A message cannot be printed as proto3 JSON; json_format fails on it too.

    Raised for an Any whose type is not in the descriptor pool (`type_url` names it), a
    google.protobuf.Value holding NaN or Infinity, a Timestamp or Duration out of range, an
    invalid FieldMask path, or an Any whose bytes do not parse. `field_path` locates the value
    (proto field names, `[i]` for list elements, `["k"]` for map entries). Answered as INTERNAL.
    """

    code = Code.INTERNAL

    def __init__(self, message: str, *, field_path: str, type_url: str = "") -> None:
        super().__init__(message)
        self.field_path = field_path
        self.type_url = type_url


class JsonCodec:
    """Decodes and encodes messages of one descriptor pool with one set of options.

    Compiled converters are cached per message type for the codec's lifetime; build one codec
    per pool at cold start. Not thread-safe while compiling: a race compiles a type twice.
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool, options: JsonOptions) -> None:
        self._options = options
        self.types = types = TypeUrls(pool)
        self._decoders = Decoders(
            pool,
            ignore_unknown=options.ignore_unknown_fields,
            types=types,
            enum_case_insensitive=options.enum_case_insensitive,
        )
        style = Style(options.use_proto_names, options.omit_unpopulated, options.enums_as_ints)
        self._encoders = Encoders(pool, style, types=types)

    @property
    def options(self) -> JsonOptions:
        return self._options

    def decode(self, value: Any, message: Message, *, field_path: str = "") -> None:
        """Merge the parsed JSON `value` into `message`, accepting what json_format accepts.

        Raises RequestError with one FieldViolation per problem found, each naming its full
        path under `field_path` in the keys the client sent (`book.reviews[2].stars`,
        `labels["k"]`), what was expected and the offending value. `message` may be partly
        filled when it raises.
        """
        try:
            self._decoders.for_type(_descriptor(message))(message, value, 1)
        except Invalid as exc:
            raise _request_error(message, exc, field_path) from None

    def encode(self, message: Message) -> Any:
        """The JSON value of `message`: what json_format.MessageToDict gives with the options.

        Raises JsonEncodeError where json_format would fail (see there).
        """
        try:
            # The stubs type DESCRIPTOR as a union with upb's class; it is the same object.
            return self._encoders.for_type(message.DESCRIPTOR)(message)  # type: ignore[arg-type]
        except ENCODE_FAILURES as exc:
            raise _encode_error(self._encoders, message, exc) from None

    def encode_field(self, message: Message, field: FieldDescriptor) -> Any:
        """The JSON value of one field of `message` (as used for `response_body`).

        The value under the field's key in `encode(message)`, except that an unpopulated field
        without presence gives its zero value even when the options omit it, and an unset field
        with presence gives None (JSON null). Raises JsonEncodeError as `encode` does.
        """
        try:
            return self._encoders.for_field(field)(message)
        except ENCODE_FAILURES as exc:
            raise _encode_error(self._encoders, message, exc) from None

    def dumps(self, message: Message) -> bytes:
        """`encode(message)` as compact UTF-8 JSON text."""
        return orjson.dumps(self.encode(message))


def _descriptor(message: Message) -> Descriptor:
    return cast(Descriptor, message.DESCRIPTOR)  # the stubs also allow upb's own class


def _request_error(message: Message, exc: Invalid, field_path: str) -> RequestError:
    violations = [
        FieldViolation(render_path(field_path, path), description)
        for path, description in exc.problems
    ]
    return problems_error(
        violations,
        stopped=exc.stopped,
        subject=f"invalid JSON for {message.DESCRIPTOR.full_name}",
    )


def _encode_error(encoders: Encoders, message: Message, exc: Exception) -> JsonEncodeError:
    path, cause = json_encoding.locate_failure(encoders, message, exc)
    where = f" at {path}" if path else ""
    type_url = cause.type_url if isinstance(cause, UnknownTypeError) else ""
    return JsonEncodeError(
        f"cannot print {message.DESCRIPTOR.full_name} as JSON{where}: {cause}",
        field_path=path,
        type_url=type_url,
    )
