"""Exchange: the HTTP request and reply as plain values, independent of any Lambda event shape.

The edge (`edge.events`) builds an `HttpRequest` from each Lambda event; the pipeline answers
with a `Reply`. Nothing below the edge reads the event or the Lambda context, so everything
between them is tested with plain values.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from grpc_transcoder.observe import tracing

JSON_CONTENT_TYPE = "application/json"
HTTP_BODY = "google.api.HttpBody"  # the message type that carries raw HTTP bodies

Metadata = tuple[tuple[str, str | bytes], ...]  # gRPC metadata: (key, text or -bin bytes)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request as the transcoder sees it.

    `path` keeps its percent-encoding where the event source keeps it (REST API, ALB,
    Function URL; HTTP APIs decode it before Lambda sees it). `query` is the query string as
    the client sent it (percent-encoding intact, without `?`). `headers` have lower-case
    names; repeated headers are joined with ", ". `source_ip` is the client address the event
    source itself saw (never a client-sent header). `authorizer` is what API Gateway's
    authorizer verified (`requestContext.authorizer`, empty without one). `expires_at` is
    when the Lambda invocation times out, on the `time.monotonic()` clock (None outside
    Lambda).
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = ""
    source_ip: str = ""
    authorizer: Mapping[str, Any] = field(default_factory=dict)
    expires_at: float | None = None
    # Read once from the headers: the access log and the backend metadata both use it.
    trace: tracing.TraceContext = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trace", tracing.from_request(self.headers))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def remaining_ms(self) -> float | None:
        """Milliseconds left before the Lambda times out; None outside Lambda."""
        if self.expires_at is None:
            return None
        return (self.expires_at - time.monotonic()) * 1000


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP answer. `headers` must not repeat `content-type`; `cookies` are `Set-Cookie`
    values, each sent as a header of its own."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE
    cookies: tuple[str, ...] = ()


def with_headers(reply: Reply, added: Mapping[str, str]) -> Reply:
    """`reply` with `added` headers (lower-case names); a `vary` value joins the one there
    unless it names it already."""
    headers = dict(reply.headers)
    for name, value in added.items():
        present = headers.get(name) if name == "vary" else None
        if not present:
            headers[name] = value
        elif value.lower() not in (token.strip().lower() for token in present.split(",")):
            headers[name] = f"{present}, {value}"
    return replace(reply, headers=headers)


def media_type(content_type: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type, both lower case; charset "" when not given.

    The one place media types are parsed: body targets, request streams and pass-through
    all read them through it.
    """
    media, _, params = content_type.partition(";")
    charset = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def under_base_path(path: str, base_path: str) -> str | None:
    """`path` without `base_path` (no trailing '/', "" for the root); None when `path` is
    not under it."""
    if not base_path:
        return path
    if not path.startswith(base_path + "/"):
        return None
    return path[len(base_path) :]
