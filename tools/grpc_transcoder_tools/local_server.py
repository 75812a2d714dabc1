"""The local server: HTTP on localhost, each request run through the real Lambda handler.

Every request becomes an API Gateway HTTP API (payload 2.0) event, as API Gateway would build
it, and `handler(event, context)` is called with a context whose remaining time counts down.
Connections are accepted side by side (clients keep theirs open), but the handler runs one
request at a time, as one Lambda execution environment serves them.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message as HeaderMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Bodies of these types travel as text in the event; API Gateway base64-encodes the rest.
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "+json",
    "+xml",
)

_request_numbers = itertools.count(1)
# API Gateway's own limit on a request body is 10 MB; the local server reads no more.
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the handler uses."""

    timeout_ms: int = 30_000
    function_name: str = "grpc-transcoder-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/grpc-transcoder-local"
    log_stream_name: str = "local"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:000000000000:function:grpc-transcoder-local"
    )
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = (time.monotonic() - self._started) * 1000
        return max(0, int(self.timeout_ms - elapsed))


def http_api_event(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    request_id: str = "",
) -> dict[str, Any]:
    """The HTTP API payload 2.0 event API Gateway would send for this request.

    Like API Gateway: the path arrives percent-decoded in `rawPath`, repeated headers are
    joined with commas, cookies move to `cookies`, and non-text bodies are base64-encoded.
    """
    parts = urlsplit(target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            joined[key] = f"{joined[key]},{value}" if key in joined else value
    content_type = joined.get("content-type", "")
    is_text = not body or (any(t in content_type for t in TEXT_TYPES) and _is_utf8(body))
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    path = unquote(parts.path) or "/"
    now = time.time()
    request_id = request_id or f"local-{next(_request_numbers)}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.query,
        "headers": joined,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": joined.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = body.decode() if is_text else base64.b64encode(body).decode()
    return event


def _is_utf8(body: bytes) -> bool:
    """API Gateway passes a text body as a string only when it is valid UTF-8."""
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def response_parts(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of a Lambda proxy response (payload 2.0 or 1.0)."""
    headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    headers.extend(("set-cookie", c) for c in response.get("cookies") or [])
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    return int(response.get("statusCode", 200)), headers, body


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        try:
            body = self._body()
        except ValueError as exc:
            self.send_error(400, str(exc))
            return
        headers = _header_pairs(self.headers)
        event = http_api_event(
            self.command, self.path, headers, body, source_ip=self.client_address[0]
        )
        context = LambdaContext(timeout_ms=self.server.timeout_ms)
        with self.server.one_at_a_time:
            response = self.server.lambda_handler(event, context)
        status, out_headers, out_body = response_parts(response)
        self.send_response(status)
        for key, value in out_headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("content-length", str(len(out_body)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(out_body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its own timeout)

    def _body(self) -> bytes:
        """The request body: Content-Length bytes, or the chunks of a chunked body (what
        streaming clients such as Connect's send), at most MAX_BODY_BYTES."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._chunks()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError(f"the body is over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _chunks(self) -> bytes:
        pieces: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            length = int(line.split(b";")[0].strip() or b"0", 16)
            if length == 0:
                while self.rfile.readline(1024).strip():  # the trailer section, ignored
                    pass
                return b"".join(pieces)
            size += length
            if size > MAX_BODY_BYTES:
                raise ValueError(f"the body is over {MAX_BODY_BYTES} bytes")
            pieces.append(self.rfile.read(length))
            self.rfile.readline(8)  # the CRLF after the chunk

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def _header_pairs(headers: HeaderMessage) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items()]


class LocalServer(ThreadingMixIn, HTTPServer):
    """An HTTP server whose handler serves one request at a time, like one Lambda container.

    Each connection has a thread of its own, so that a client holding a keep-alive connection
    open never stalls another one; the handler itself runs under one lock.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        lambda_handler: LambdaHandler,
        *,
        timeout_ms: int = 30_000,
        verbose: bool = True,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.lambda_handler = lambda_handler
        self.one_at_a_time = threading.Lock()
        self.timeout_ms = timeout_ms
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"
