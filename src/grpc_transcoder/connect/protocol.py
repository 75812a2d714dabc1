"""The Connect protocol's requests: which requests are Connect calls, and in which form.

Input: an `HttpRequest` and the base path. Output: a `ConnectFormat` for a Connect call (a unary
POST, a GET, or a stream, with its codec), None for every other request; for a GET, the request
message carried in its query. Connect calls are told from the default route's JSON and from
binary pass-through by what the protocol makes clients send: `Connect-Protocol-Version` on a
unary POST, `application/connect+<codec>` on a stream, `connect=v1` in a GET's query.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import parse_qsl

from grpc_transcoder.decoding.content_encoding import (
    GZIP,
    IDENTITY,
    UnsupportedEncodingError,
    gunzip,
)
from grpc_transcoder.errors import Code, FieldViolation, RequestError
from grpc_transcoder.exchange import HttpRequest, media_type, under_base_path

VERSION_HEADER = "connect-protocol-version"
VERSION = "1"
STREAM_PREFIX = "application/connect+"
UNARY_PREFIX = "application/"
ERROR_CONTENT_TYPE = "application/json"  # every unary error, whatever the call's codec
JSON = "json"
PROTO = "proto"
CODECS = (JSON, PROTO)
STREAM_ENCODING_HEADER = "connect-content-encoding"
STREAM_ACCEPT_ENCODING_HEADER = "connect-accept-encoding"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# What Connect clients call: `/[package.]Service/Method` (the package is optional).
_PATH = re.compile(rf"/((?:{_NAME}\.)*{_NAME})/({_NAME})")
# A GET's query has five parameters of its own; others (cache busters, a CDN's) are ignored,
# up to this many fields in all: more are refused unread.
MAX_QUERY_FIELDS = 64


class Form(enum.Enum):
    """How a Connect call travels."""

    UNARY = "unary"  # POST, the message as the body
    GET = "get"  # GET, the message in the query (NO_SIDE_EFFECTS methods)
    STREAM = "stream"  # POST, enveloped messages and an end-of-stream message


@dataclass(frozen=True, slots=True)
class ConnectFormat:
    """One Connect call's form, codec and target method."""

    form: Form
    codec: str  # "json" or "proto" when supported; anything else is refused with 415
    service: str
    method: str

    @property
    def streaming(self) -> bool:
        return self.form is Form.STREAM

    @property
    def content_type(self) -> str:
        """The Content-Type of a successful answer (errors of unary calls are JSON)."""
        return f"{STREAM_PREFIX if self.streaming else UNARY_PREFIX}{self.codec}"

    @property
    def route(self) -> str:
        """The access log's label for the call."""
        return f"connect {self.form.value} {self.codec}"


def negotiate(
    request: HttpRequest, base_path: str, services: Container[str] = ()
) -> ConnectFormat | None:
    """The Connect form of `request`, or None when it is not a Connect call.

    Only requests to `/<package>.<Service>/<Method>` under `base_path` are Connect calls, or
    `/<Service>/<Method>` for a service without a package that `services` holds (so that a
    REST path such as `/v1/shelves` stays REST); the codec is not checked here (an
    unsupported one is refused with a Connect error).
    """
    if request.method == "POST":
        media = media_type(request.content_type)[0]
        if media.startswith(STREAM_PREFIX):
            form, codec = Form.STREAM, media[len(STREAM_PREFIX) :]
        elif VERSION_HEADER in request.headers:
            form, codec = Form.UNARY, media.removeprefix(UNARY_PREFIX)
        else:
            return None
    elif request.method == "GET" and (
        VERSION_HEADER in request.headers or _names_connect(request.query)
    ):
        form, codec = Form.GET, ""
    else:
        return None
    path = under_base_path(request.path, base_path)
    found = _PATH.fullmatch(path) if path is not None else None
    if found is None or ("." not in found[1] and found[1] not in services):
        return None
    if form is Form.GET:
        codec = _parameters_or_none(request.query).get("encoding", "")
    return ConnectFormat(form, codec, found[1], found[2])


def _names_connect(query: str) -> bool:
    """Whether a GET's query has the `connect` parameter (cheap test first, then parsed)."""
    return "connect=" in query and "connect" in _parameters_or_none(query)


def _parameters_or_none(query: str) -> dict[str, str]:
    """The query's parameters, or none when there are too many (then refused by `check`)."""
    try:
        return _get_parameters(query)
    except RequestError:
        return {"connect": ""} if "connect=" in query else {}


def check(request: HttpRequest, connect: ConnectFormat) -> None:
    """Refuse what the protocol does not allow: another protocol version, an unknown codec."""
    version = request.headers.get(VERSION_HEADER, VERSION)
    if connect.form is Form.GET:
        version = _get_parameters(request.query).get("connect", "v1").removeprefix("v")
        if not version:
            version = VERSION  # the parameter is optional
    if version.strip() != VERSION:
        raise RequestError(
            f"unsupported Connect protocol version {version[:20]!r}; this server speaks"
            f" version {VERSION}",
            violations=[FieldViolation(VERSION_HEADER, f"expected {VERSION}")],
        )
    if connect.codec not in CODECS:
        sent = "the encoding parameter" if connect.form is Form.GET else "Content-Type"
        expected = ", ".join(
            f"{STREAM_PREFIX if connect.streaming else UNARY_PREFIX}{codec}" for codec in CODECS
        )
        if connect.form is Form.GET:
            expected = "encoding=json or encoding=proto"
        raise RequestError(
            f"unsupported Connect codec {connect.codec[:40]!r} in {sent}; send {expected}",
            status=415,
            code=Code.UNIMPLEMENTED,
        )


def get_message(request: HttpRequest, max_bytes: int) -> bytes:
    """The request message of a Connect GET: `message`, after `base64=1` and `compression`.

    The size limit applies to the message as decoded and decompressed; raises RequestError.
    """
    parameters = _get_parameters(request.query)  # other parameters are ignored
    if "message" not in parameters:
        raise RequestError(
            "a Connect GET needs the request message in the `message` query parameter",
            violations=[FieldViolation("message", "missing")],
        )
    data = parameters["message"].encode("utf-8", "surrogateescape")
    if len(data) > 2 * max_bytes:  # base64 and percent-encoding grow it; more cannot fit
        raise RequestError(
            f"the Connect GET message is over the limit of {max_bytes} bytes"
            " (TRANSCODER_MAX_REQUEST_BYTES)",
            status=413,
            code=Code.RESOURCE_EXHAUSTED,
        )
    if parameters.get("base64", "") == "1":
        data = _unbase64(data)
    compression = parameters.get("compression", IDENTITY).strip().lower()
    if compression in GZIP:
        return gunzip(data, max_bytes, what="the Connect GET message") if data else data
    if compression not in ("", IDENTITY):
        raise UnsupportedEncodingError(
            f"unsupported compression {compression[:40]!r} for a Connect GET; send gzip or none",
            code=Code.UNIMPLEMENTED,
        )
    if len(data) > max_bytes:
        raise RequestError(
            f"the Connect GET message is {len(data)} bytes; the limit is {max_bytes} bytes"
            " (TRANSCODER_MAX_REQUEST_BYTES)",
            status=413,
            code=Code.RESOURCE_EXHAUSTED,
        )
    return data


def _get_parameters(query: str) -> dict[str, str]:
    """The query's parameters (the last of repeated ones); RequestError past a few fields."""
    try:
        pairs = parse_qsl(
            query,
            keep_blank_values=True,
            max_num_fields=MAX_QUERY_FIELDS,
            errors="surrogateescape",
        )
    except ValueError:
        raise RequestError(
            f"a Connect GET's query may have at most {MAX_QUERY_FIELDS} parameters"
        ) from None
    return dict(pairs)


def _unbase64(data: bytes) -> bytes:
    """URL-safe base64 (the protocol's), padded or not; standard base64 is accepted too."""
    compact = data.strip().replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(
            "the Connect GET message is not valid base64 (base64=1)",
            violations=[FieldViolation("message", "not URL-safe base64")],
        ) from None
