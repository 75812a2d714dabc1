"""Lambda events: each HTTP event source's payload read into one typed, complete `HttpRequest`.

Input: a Lambda event (API Gateway REST API or HTTP API, a function URL, an ALB, Lambda@Edge)
and its context. Output: the `HttpRequest`: method, path and query as the client sent them,
headers, body, the client address the event source itself saw, the authorizer's data, the
request id and when the invocation times out. Nothing below this module reads the event or the
context. A payload its source would never send raises RequestError (400) saying what is wrong.

Where the path, the query and the client address come from (the README's "Security" section
has the same table):

- REST API and HTTP API payload 1.0: `path` (encoded), `multiValueQueryStringParameters`
  (decoded by API Gateway, encoded again here), `requestContext.identity.sourceIp`.
- HTTP API payload 2.0 and function URLs: `rawPath`, `rawQueryString`,
  `requestContext.http.sourceIp`.
- ALB: `path` (encoded), the query parameters as the client encoded them, and the last element
  of `X-Forwarded-For` (the address the load balancer saw; earlier ones are client-sent).
- Lambda@Edge: `uri`, `querystring`, `clientIp`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from grpc_transcoder.errors import RequestError
from grpc_transcoder.exchange import HttpRequest

Event = Mapping[str, Any]


class EventSource(enum.Enum):
    """The HTTP event sources, each named as its AWS documentation names it."""

    REST_API = "API Gateway REST API (or HTTP API payload 1.0)"
    HTTP_API = "API Gateway HTTP API payload 2.0 (or function URL)"
    ALB = "Application Load Balancer"
    LAMBDA_AT_EDGE = "Lambda@Edge"


def source_of(event: Any) -> EventSource | None:
    """The source that sends events shaped like `event`; None for anything else."""
    if not isinstance(event, Mapping):
        return None
    context = event.get("requestContext")
    if isinstance(context, Mapping):
        if "elb" in context:
            return EventSource.ALB
        if event.get("version") == "2.0":
            return EventSource.HTTP_API
        if "httpMethod" in event:
            return EventSource.REST_API
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        return EventSource.LAMBDA_AT_EDGE if "cf" in records[0] else None
    return None


def read(
    event: Event,
    context: Any,
    source: EventSource | None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> HttpRequest:
    """The request `event` carries; raises RequestError (400) when it is not a valid payload."""
    if source is None:
        keys = ", ".join(sorted(map(str, event)))[:200] if isinstance(event, Mapping) else ""
        raise RequestError(
            "not an HTTP event from API Gateway, an ALB, a function URL or Lambda@Edge"
            f" (its keys: {keys or type(event).__name__})"
        )
    try:
        fields = _READERS[source](event)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise RequestError(f"not a valid {source.value} event ({type(exc).__name__})") from None
    return HttpRequest(
        request_id=fields.pop("request_id", "") or _invocation_id(context),
        expires_at=_expires_at(context, clock),
        **fields,
    )


def fallback(event: Any, context: Any) -> HttpRequest:
    """What can safely be said about an event that `read` refused: for its access log line."""
    method = path = ""
    if isinstance(event, Mapping):
        method = _maybe_text(event.get("httpMethod"))
        path = _maybe_text(event.get("rawPath")) or _maybe_text(event.get("path"))
        http = (event.get("requestContext") or {}).get("http")
        if not method and isinstance(http, Mapping):
            method = _maybe_text(http.get("method"))
    return HttpRequest(method=method or "-", path=path or "-", request_id=_invocation_id(context))


def _rest_api(event: Event) -> dict[str, Any]:
    context = event["requestContext"]
    identity = context.get("identity") or {}
    return {
        "method": _text(event["httpMethod"]),
        "path": _text(event.get("path") or "/"),
        "query": _encode_query(event),
        "headers": _headers(event.get("headers"), event.get("multiValueHeaders")),
        "body": _body(event.get("body"), base64_encoded=event.get("isBase64Encoded", False)),
        "source_ip": _maybe_text(identity.get("sourceIp")),
        "request_id": _maybe_text(context.get("requestId")),
        "authorizer": _mapping(context.get("authorizer")),
    }


def _http_api(event: Event) -> dict[str, Any]:
    context = event["requestContext"]
    http = context["http"]
    headers = _headers(event.get("headers"), None)
    cookies = event.get("cookies")
    if cookies:  # payload 2.0 moves the Cookie header into a list
        headers["cookie"] = "; ".join(_text(cookie) for cookie in cookies)
    return {
        "method": _text(http["method"]),
        "path": _text(event.get("rawPath") or "/"),
        "query": _text(event.get("rawQueryString") or ""),
        "headers": headers,
        "body": _body(event.get("body"), base64_encoded=event.get("isBase64Encoded", False)),
        "source_ip": _maybe_text(http.get("sourceIp")),
        "request_id": _maybe_text(context.get("requestId")),
        "authorizer": _mapping(context.get("authorizer")),
    }


def _alb(event: Event) -> dict[str, Any]:
    headers = _headers(event.get("headers"), event.get("multiValueHeaders"))
    return {
        "method": _text(event["httpMethod"]),
        "path": _text(event.get("path") or "/"),
        "query": _alb_query(event),
        "headers": headers,
        "body": _body(event.get("body"), base64_encoded=event.get("isBase64Encoded", False)),
        # The ALB appends the address it saw to X-Forwarded-For; what comes before that is
        # whatever the client sent in its own X-Forwarded-For.
        "source_ip": headers.get("x-forwarded-for", "").rpartition(",")[2].strip(),
    }


def _lambda_at_edge(event: Event) -> dict[str, Any]:
    request = event["Records"][0]["cf"]["request"]
    headers = {
        _text(name).lower(): ", ".join(_text(entry["value"]) for entry in entries)
        for name, entries in (request.get("headers") or {}).items()
    }
    body = request.get("body") or {}
    return {
        "method": _text(request["method"]),
        "path": _text(request.get("uri") or "/"),
        "query": _text(request.get("querystring") or ""),
        "headers": headers,
        "body": _body(body.get("data"), base64_encoded=body.get("encoding") == "base64"),
        "source_ip": _maybe_text(request.get("clientIp")),
    }


_READERS: dict[EventSource, Callable[[Event], dict[str, Any]]] = {
    EventSource.REST_API: _rest_api,
    EventSource.HTTP_API: _http_api,
    EventSource.ALB: _alb,
    EventSource.LAMBDA_AT_EDGE: _lambda_at_edge,
}


def _headers(single: Any, multi: Any) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ", " (multi-value headers win)."""
    headers: dict[str, str] = {}
    if single:
        headers = {name.lower(): value for name, value in single.items() if value is not None}
        _check_texts(headers)
    if multi:
        joined = {name.lower(): ", ".join(values) for name, values in multi.items() if values}
        _check_texts(joined)
        headers.update(joined)
    return headers


def _check_texts(headers: dict[str, str]) -> None:
    """Raise TypeError or UnicodeEncodeError unless every name and value is valid text.

    One C-level pass over all of them: `"".join` refuses anything but strings, and only
    text beyond ASCII needs the (rarer) surrogate check.
    """
    text = "".join(headers) + "".join(headers.values())
    if not text.isascii():
        text.encode()


def _encode_query(event: Event) -> str:
    """A REST API's query, which API Gateway hands over decoded, encoded again in order."""
    multi = event.get("multiValueQueryStringParameters")
    if not multi:
        single = event.get("queryStringParameters") or {}
        multi = {key: [value] for key, value in single.items()}
    return urlencode(
        [(_text(key), _text(value)) for key, values in multi.items() for value in values or ()],
        quote_via=quote,
    )


def _alb_query(event: Event) -> str:
    """An ALB's query: the parameters as the client encoded them (the ALB decodes nothing)."""
    multi = event.get("multiValueQueryStringParameters")
    if multi is None:
        single = event.get("queryStringParameters") or {}
        multi = {key: [value] for key, value in single.items()}
    return "&".join(
        f"{_text(key)}={_text(value)}" for key, values in multi.items() for value in values or ()
    )


def _body(body: Any, *, base64_encoded: Any) -> bytes:
    if body is None or body == "":
        return b""
    if type(body) is not str:
        raise TypeError(f"the body must be a string, got {type(body).__name__}")
    text: str = body
    if base64_encoded is True:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(
                "the request body is marked base64-encoded (isBase64Encoded) but is not valid"
                " base64"
            ) from None
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates: no client can have sent them
        raise RequestError("the request body is not valid UTF-8 text") from None


def _text(value: Any) -> str:
    """A string of the event; anything else, or text that is not valid Unicode, is refused."""
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    if not value.isascii():
        value.encode()  # raises UnicodeEncodeError (a ValueError) on lone surrogates
    return value


def _maybe_text(value: Any) -> str:
    return value if isinstance(value, str) and value.isascii() else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _invocation_id(context: Any) -> str:
    return str(getattr(context, "aws_request_id", "") or uuid.uuid4())


def _expires_at(context: Any, clock: Callable[[], float]) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return clock() + float(remaining()) / 1000
