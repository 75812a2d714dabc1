"""Exchange: the HTTP request and reply as plain values, independent of Starlette and Mangum.

The app builds an `HttpRequest` from the ASGI scope and the raw Lambda event; the pipeline
answers with a `Reply`. Everything between them is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grpc_transcoder import tracing

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request as the transcoder sees it.

    `path` keeps its percent-encoding where the event source keeps it (REST API, ALB,
    Function URL; HTTP APIs decode it before Lambda sees it) and has the base path removed.
    `headers` have lower-case names; repeated headers are joined with ", ".
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = ""
    source_ip: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    context: Any = None
    # Read once from the headers: the access log and the backend metadata both use it.
    trace: tracing.TraceContext = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trace", tracing.from_request(self.headers))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def remaining_ms(self) -> float | None:
        """Milliseconds left before the Lambda times out; None outside Lambda."""
        remaining = getattr(self.context, "get_remaining_time_in_millis", None)
        return None if remaining is None else float(remaining())


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP answer. `headers` must not repeat `content-type`."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE
