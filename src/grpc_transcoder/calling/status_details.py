"""Status details: the google.rpc.Status a backend sends in `grpc-status-details-bin`, as JSON.

Input: the trailing metadata of a failed call. Output: the status message and the `details`
list of the error body, each detail rendered with the codec through the loaded descriptors
(standard google.rpc error details included); a detail of an unknown type keeps its type URL
and its bytes in base64 instead of failing the response.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message

from grpc_transcoder.errors import JsonObject, TranscoderError
from grpc_transcoder.json.codec import JsonCodec, JsonEncodeError
from grpc_transcoder.loading.registry import Registry

logger = logging.getLogger(__name__)

DETAILS_KEY = "grpc-status-details-bin"
STATUS_TYPE = "google.rpc.Status"


@dataclass(frozen=True, slots=True)
class RichStatus:
    """The parts of a google.rpc.Status the error body uses."""

    message: str
    details: tuple[JsonObject, ...]


class StatusDecoder:
    """Decodes `grpc-status-details-bin` with the registry's pool and renders it with the codec."""

    def __init__(self, registry: Registry, codec: JsonCodec) -> None:
        self._registry = registry
        self._codec = codec

    def decode(self, trailing: Sequence[tuple[str, str | bytes]]) -> RichStatus | None:
        """The status in the trailers, or None when absent or unreadable (logged)."""
        status = status_from_trailers(trailing, self._registry)
        if status is None:
            return None
        return RichStatus(status.message, tuple(self.render(any_) for any_ in status.details))

    def render(self, detail: Any) -> JsonObject:
        """One google.protobuf.Any detail as JSON: `{"@type", ...fields}`."""
        type_url: str = detail.type_url
        message = self._unpack(type_url, detail.value)
        if message is None:
            return {"@type": type_url, "value": base64.b64encode(detail.value).decode("ascii")}
        try:
            value = self._codec.encode(message)
        except JsonEncodeError as exc:
            # e.g. an Any inside the detail whose type is not loaded: keep the detail, as bytes.
            logger.warning(
                "error detail %r has no JSON form (%s); rendered as base64", type_url, exc
            )
            return {"@type": type_url, "value": base64.b64encode(detail.value).decode("ascii")}
        # Well-known types with a non-object JSON form (Duration, wrappers...) nest as "value".
        return (
            {"@type": type_url, **value}
            if isinstance(value, dict)
            else {
                "@type": type_url,
                "value": value,
            }
        )

    def _unpack(self, type_url: str, data: bytes) -> Message | None:
        name = type_url.rpartition("/")[2]
        try:
            message = self._registry.new_message(name)
            message.ParseFromString(data)
        except KeyError:
            logger.info("error detail of unknown type %r rendered as base64", type_url)
            return None
        except DecodeError as exc:
            logger.warning("error detail %r does not parse (%s); rendered as base64", type_url, exc)
            return None
        return message


def status_from_error(error: TranscoderError, registry: Registry) -> Message | None:
    """The google.rpc.Status of an error the transcoder raised (its JSON details parsed), for
    protocols that carry it in binary; None when a detail does not parse (logged)."""
    # Imported here: json_format costs about 10 ms of cold start, and only errors of gRPC-Web
    # and Connect calls need it (the transcoder's own details are JSON already).
    from google.protobuf import json_format  # noqa: PLC0415

    status = registry.new_message(STATUS_TYPE)
    value = {"code": error.grpc_code, "message": error.message, "details": error.details}
    try:
        json_format.ParseDict(value, status, descriptor_pool=registry.pool)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        logger.warning("error details not sent in %s: %s", DETAILS_KEY, exc)
        return None
    return status


def status_from_trailers(trailing: Sequence[tuple[str, str | bytes]], registry: Registry) -> Any:
    """The google.rpc.Status a backend sent in `grpc-status-details-bin`, or None."""
    raw = next((v for k, v in trailing if k == DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return None
    try:
        status: Any = registry.new_message(STATUS_TYPE)
        status.ParseFromString(raw)
    except (DecodeError, KeyError) as exc:
        logger.warning("ignored %s: not a google.rpc.Status (%s)", DETAILS_KEY, exc)
        return None
    return status
