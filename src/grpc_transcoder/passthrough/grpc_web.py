"""gRPC-Web framing: the request body's frames in, data frames and the trailer frame out.

Input: a body in `application/grpc-web[+proto]` or its base64 form `application/grpc-web-text`.
Output: the request messages it carries; for the answer, one body of data frames ending with the
trailer frame (grpc-status, grpc-message, the backend's trailers), base64 again in text mode.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from grpc_transcoder.errors import Code, RequestError
from grpc_transcoder.exchange import Metadata, media_type

MEDIA_TYPE_PREFIX = "application/grpc-web"
TEXT_MEDIA_TYPE = "application/grpc-web-text"
# The codecs of `application/grpc-web+<codec>` pass-through can carry: protobuf bytes only.
PROTO_CODECS = frozenset({"", "proto"})

DATA_FLAG = 0x00
TRAILER_FLAG = 0x80
COMPRESSED_FLAG = 0x01
FRAME_HEADER = struct.Struct(">BI")  # flag byte, then the big-endian payload length

STATUS_KEY = "grpc-status"
MESSAGE_KEY = "grpc-message"
# Never written as response headers: HTTP's own, and gRPC's (status travels in the trailer).
_NOT_HEADERS = frozenset(
    {"content-type", "content-length", "transfer-encoding", "connection", "keep-alive", "te"}
)
_BASE64_CHUNK = re.compile(rb"[^=]*=*")  # one base64 chunk, with the padding that ends it


@dataclass(frozen=True, slots=True)
class WebFormat:
    """How one gRPC-Web exchange is framed: `text` bodies are base64 (grpc-web-text)."""

    codec: str  # "" or "proto"; other codecs are refused before any call
    request_text: bool
    response_text: bool

    @property
    def content_type(self) -> str:
        """The response Content-Type: the request's media type, in the response's encoding."""
        base = TEXT_MEDIA_TYPE if self.response_text else MEDIA_TYPE_PREFIX
        return f"{base}+{self.codec}" if self.codec else base


def negotiate(content_type: str, accept: str = "") -> WebFormat | None:
    """The format of a gRPC-Web request, or None when `content_type` is not gRPC-Web.

    The answer is base64 when the request is, or when `Accept` asks for grpc-web-text (what
    the grpc-web JavaScript client sends in its text mode).
    """
    media = media_type(content_type)[0]
    if not media.startswith(MEDIA_TYPE_PREFIX):
        return None
    kind, _, codec = media.partition("+")
    if kind not in (MEDIA_TYPE_PREFIX, TEXT_MEDIA_TYPE):
        return None
    request_text = kind == TEXT_MEDIA_TYPE
    return WebFormat(codec, request_text, request_text or TEXT_MEDIA_TYPE in accept.lower())


def check_codec(web: WebFormat) -> None:
    """Refuse codecs other than protobuf: pass-through forwards message bytes unchanged."""
    if web.codec not in PROTO_CODECS:
        raise RequestError(
            f"gRPC-Web with the {web.codec!r} codec is not supported; send"
            " application/grpc-web+proto (or application/grpc-web-text+proto)",
            code=Code.UNIMPLEMENTED,
        )


def request_messages(body: bytes, web: WebFormat, *, limit: int = 0) -> list[bytes]:
    """The messages of a request body; raises RequestError naming what is wrong.

    Reading stops after `limit` + 1 frames (0: no limit): one too many is enough to refuse.
    """
    return parse_frames(decode_text(body) if web.request_text else body, limit=limit)


def decode_text(body: bytes) -> bytes:
    """The bytes of a grpc-web-text body: base64 chunks, each possibly padded on its own."""
    compact = b"".join(body.split())
    try:
        return b"".join(
            base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
            for chunk in _BASE64_CHUNK.findall(compact)
            if chunk
        )
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"the grpc-web-text body is not valid base64 ({exc})") from None


def parse_frames(data: bytes, *, limit: int = 0) -> list[bytes]:
    """The payloads of the data frames in `data`.

    Raises RequestError for a body that ends inside a frame, a trailer frame (clients send
    none) and an unknown flag; UNIMPLEMENTED for a compressed message. Stops after `limit` + 1
    frames (0: no limit).
    """
    messages: list[bytes] = []
    offset = 0
    while offset < len(data) and not (limit and len(messages) > limit):
        if len(data) - offset < FRAME_HEADER.size:
            raise _truncated(len(messages), "its 5-byte header")
        flag, length = FRAME_HEADER.unpack_from(data, offset)
        _check_flag(flag, len(messages))
        offset += FRAME_HEADER.size
        if len(data) - offset < length:
            raise _truncated(len(messages), f"a payload of {length} bytes")
        messages.append(data[offset : offset + length])
        offset += length
    return messages


def _check_flag(flag: int, index: int) -> None:
    if flag == DATA_FLAG:
        return
    if flag == COMPRESSED_FLAG:
        raise RequestError(
            f"frame {index + 1} of the gRPC-Web body is compressed; compressed messages"
            " (grpc-encoding) are not supported",
            code=Code.UNIMPLEMENTED,
        )
    what = "a trailer frame" if flag & TRAILER_FLAG else f"unknown flags 0x{flag:02x}"
    raise RequestError(f"frame {index + 1} of the gRPC-Web body has {what}; send data frames")


def _truncated(index: int, missing: str) -> RequestError:
    return RequestError(f"the gRPC-Web body ends inside frame {index + 1}: {missing} is missing")


def data_frame(message: bytes) -> bytes:
    return FRAME_HEADER.pack(DATA_FLAG, len(message)) + message


def trailer_frame(code: int, message: str, trailers: Metadata = ()) -> bytes:
    """The last frame: grpc-status, grpc-message (percent-encoded) and the other trailers.

    Binary (`-bin`) values are base64, as on the gRPC wire; the backend's own grpc-status and
    grpc-message entries are replaced by `code` and `message`.
    """
    lines = [f"{STATUS_KEY}: {code}\r\n"]
    if message:
        lines.append(f"{MESSAGE_KEY}: {encode_message(message)}\r\n")
    lines.extend(
        f"{key}: {_text(value)}\r\n"
        for key, value in trailers
        if key not in (STATUS_KEY, MESSAGE_KEY)
    )
    block = "".join(lines).encode("ascii")
    return FRAME_HEADER.pack(TRAILER_FLAG, len(block)) + block


def encode_message(message: str) -> str:
    """grpc-message's percent-encoding: UTF-8, with bytes outside 0x20-0x7E and '%' escaped."""
    return "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}"
        for byte in message.encode("utf-8")
    )


def body(frames: Iterable[bytes], *, text: bool) -> bytes:
    """The response body: the frames in order, base64-encoded in text mode."""
    joined = b"".join(frames)
    return base64.b64encode(joined) if text else joined


def headers(initial: Metadata) -> dict[str, str]:
    """The backend's initial metadata as response headers, as gRPC-Web clients read them.

    Repeated keys are joined with ", "; binary values are base64.
    """
    result: dict[str, str] = {}
    for key, value in initial:
        if key in _NOT_HEADERS or key.startswith("grpc-"):
            continue
        text = _text(value)
        result[key] = f"{result[key]}, {text}" if key in result else text
    return result


def _text(value: str | bytes) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
