"""Connect errors: any failure as the Connect protocol's error JSON, for unary calls and streams.

Input: a TranscoderError (the backend's, with its gRPC failure as the cause, or the
transcoder's own) and the registry. Output: `{"code", "message", "details"}` with Connect's
lower-snake-case code names and each detail as `{type, value, debug}` (the binary
google.protobuf.Any value in unpadded base64, its JSON form as `debug`); for unary calls and
GETs a reply with the HTTP status of Connect's table, for streams HTTP 200 and the error in the
end-of-stream message.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from grpc_transcoder.calling.status_details import status_from_error, status_from_trailers
from grpc_transcoder.connect import metadata
from grpc_transcoder.connect.envelopes import Writer
from grpc_transcoder.connect.protocol import (
    ERROR_CONTENT_TYPE,
    STREAM_ACCEPT_ENCODING_HEADER,
    ConnectFormat,
)
from grpc_transcoder.decoding.content_encoding import UnsupportedEncodingError
from grpc_transcoder.errors import Code, JsonObject, TranscoderError, http_status
from grpc_transcoder.exchange import Reply
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.passthrough.grpc_web_reply import own_headers
from grpc_transcoder.passthrough.raw_calls import raw_metadata

# Connect's names are gRPC's in lower snake case, with one spelling of its own.
CODE_NAMES: dict[int, str] = {
    code.value: "canceled" if code is Code.CANCELLED else code.name.lower()
    for code in Code
    if code is not Code.OK
}
# Refusals of the HTTP request itself, before any call exists: answered with their own status.
# Every other error takes the status of Connect's table (the same as gRPC's HTTP mapping).
_HTTP_REFUSALS = frozenset({405, 415})


def code_name(grpc_code: int) -> str:
    """Connect's name for a gRPC code; `unknown` for OK or numbers outside the enum."""
    return CODE_NAMES.get(grpc_code, "unknown")


def error_json(error: TranscoderError, registry: Registry | None) -> JsonObject:
    """The Connect error object of `error` (`details` only when there are some)."""
    body: JsonObject = {"code": code_name(error.grpc_code), "message": error.message}
    if registry is not None:
        details = _details(error, registry)
        if details:
            body["details"] = details
    return body


def error_reply(connect: ConnectFormat, error: TranscoderError, registry: Registry | None) -> Reply:
    """The answer to a failed Connect call (`registry` is None while nothing is loaded)."""
    initial, trailing = raw_metadata(error)
    headers = {**own_headers(error.headers), **metadata.headers(initial)}
    if isinstance(error, UnsupportedEncodingError):
        # Connect's answer to an encoding it cannot read: unimplemented, naming what it reads.
        error = TranscoderError(error.message, code=Code.UNIMPLEMENTED)
        accept = STREAM_ACCEPT_ENCODING_HEADER if connect.streaming else "accept-encoding"
        headers[accept] = "gzip"
    if connect.streaming and error.status not in _HTTP_REFUSALS:
        end = Writer.end(error_json(error, registry), metadata.end_stream_metadata(trailing))
        return Reply(200, end, headers, connect.content_type)
    status = error.status if error.status in _HTTP_REFUSALS else http_status(error.grpc_code)
    headers.update(metadata.trailer_headers(trailing))
    body = orjson.dumps(error_json(error, registry))
    return Reply(status, body, headers, ERROR_CONTENT_TYPE)


def _details(error: TranscoderError, registry: Registry) -> list[JsonObject]:
    """The details as Connect sends them: the backend's own google.rpc.Status when it sent
    one, else the transcoder's JSON details in binary form."""
    status = status_from_trailers(raw_metadata(error)[1], registry)
    if status is None and error.details:
        status = status_from_error(error, registry)
    if status is None:
        return []
    rendered = error.details if len(error.details) == len(status.details) else ()
    details = []
    for index, detail in enumerate(status.details):
        entry: JsonObject = {
            "type": detail.type_url.rpartition("/")[2],
            "value": base64.b64encode(detail.value).decode("ascii").rstrip("="),
        }
        if rendered:
            entry["debug"] = _debug(rendered[index])
        details.append(entry)
    return details


def _debug(rendered: JsonObject) -> Any:
    """A detail's JSON form without its `@type` (Connect names the type beside it)."""
    return {key: value for key, value in rendered.items() if key != "@type"}
