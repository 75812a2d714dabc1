"""Lambda events for tests: the real payloads in tests/events/, varied only where a test needs.

Each source is built the way its AWS service builds it: REST API keeps the path encoded and
splits repeated query keys into `multiValueQueryStringParameters`; HTTP API decodes the path
and keeps the query in `rawQueryString`; Function URLs keep the raw path; ALB passes query
values still percent-encoded.
"""

from __future__ import annotations

import base64
import copy
import enum
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

EVENTS = Path(__file__).parent / "events"


class Source(enum.Enum):
    REST_API = "rest_api"
    HTTP_API = "http_api"
    FUNCTION_URL = "function_url"
    ALB = "alb"
    ALB_MULTI_VALUE = "alb_multi_value"


@cache
def _template(source: Source) -> str:
    return (EVENTS / f"{source.value}.json").read_text()


def template(source: Source) -> dict[str, Any]:
    """A fresh copy of the stored payload."""
    return dict(json.loads(_template(source)))


def build(
    source: Source,
    method: str = "GET",
    path: str = "/",
    *,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | str | None = None,
    binary: bool = False,
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An event for `method path?query` with `headers` and `body`.

    `path` is given as the client sends it (percent-encoded). `binary` sends the body base64
    encoded with isBase64Encoded, as API Gateway does for binary media types.
    """
    event = template(source)
    raw_body = body.encode() if isinstance(body, str) else body
    builders = {
        Source.REST_API: _rest_api,
        Source.HTTP_API: _http_api,
        Source.FUNCTION_URL: _function_url,
        Source.ALB: _alb,
        Source.ALB_MULTI_VALUE: _alb_multi_value,
    }
    builders[source](event, method, path, list(query), list(headers))
    _set_body(event, raw_body, binary)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = copy.deepcopy(authorizer)
    if request_id is not None and "requestId" in event["requestContext"]:
        event["requestContext"]["requestId"] = request_id
    return event


def _set_body(event: dict[str, Any], body: bytes | None, binary: bool) -> None:
    if body is None:
        return
    if binary:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body.decode()
        event["isBase64Encoded"] = False


def _rest_api(
    event: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
) -> None:
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    event["path"] = path
    event["requestContext"]["path"] = "/prod" + path
    event["pathParameters"] = {"proxy": unquote(path.lstrip("/"))} if path != "/" else None
    multi: dict[str, list[str]] = {}
    for key, value in query:
        multi.setdefault(key, []).append(value)
    event["multiValueQueryStringParameters"] = multi or None
    event["queryStringParameters"] = {k: v[-1] for k, v in multi.items()} or None
    for key, value in headers:
        event["headers"][key] = value
        event["multiValueHeaders"].setdefault(key, []).append(value)


def _http_api(
    event: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
) -> None:
    decoded = unquote(path)  # API Gateway HTTP APIs decode the path, %2F included
    event["rawPath"] = decoded
    event["requestContext"]["http"]["path"] = decoded
    _v2_common(event, method, query, headers)


def _function_url(
    event: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
) -> None:
    event["rawPath"] = path  # Function URLs keep the encoding
    event["requestContext"]["http"]["path"] = unquote(path)
    _v2_common(event, method, query, headers)


def _v2_common(
    event: dict[str, Any], method: str, query: list[tuple[str, str]], headers: list[tuple[str, str]]
) -> None:
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = urlencode(query, quote_via=quote)
    joined: dict[str, str] = {}
    for key, value in query:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    if joined:
        event["queryStringParameters"] = joined
    for key, value in headers:
        lower = key.lower()
        if lower == "cookie":
            event["cookies"] = [c.strip() for c in value.split(";")]
            continue
        current = event["headers"].get(lower)
        event["headers"][lower] = f"{current},{value}" if current else value


def _alb(
    event: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
) -> None:
    event["httpMethod"] = method
    event["path"] = path
    # ALB passes values as the client encoded them; in single-value mode the last one wins.
    event["queryStringParameters"] = {quote(k): quote(v) for k, v in query}
    for key, value in headers:
        event["headers"][key.lower()] = value


def _alb_multi_value(
    event: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
) -> None:
    event["httpMethod"] = method
    event["path"] = path
    multi: dict[str, list[str]] = {}
    for key, value in query:
        multi.setdefault(quote(key), []).append(quote(value))
    event["multiValueQueryStringParameters"] = multi
    for key, value in headers:
        event["multiValueHeaders"].setdefault(key.lower(), []).append(value)


def response_body(response: dict[str, Any]) -> bytes:
    """The body bytes of a Lambda proxy response."""
    raw = response.get("body") or ""
    return base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response_body(response))


def response_header(response: dict[str, Any], name: str) -> str | None:
    """A response header by case-insensitive name, from `headers` or `multiValueHeaders`."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ", ".join(values)
    return None


def response_cookies(response: dict[str, Any]) -> list[str]:
    """The Set-Cookie values of a Lambda proxy response, each one whole, wherever the source
    puts them: `cookies` (payload 2.0, function URLs) or `multiValueHeaders`/`headers`."""
    found = list(response.get("cookies") or [])
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == "set-cookie":
            found.extend(values)
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == "set-cookie":
            found.append(value)
    return found
