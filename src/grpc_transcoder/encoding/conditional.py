"""Conditional GET: 304 Not Modified when the request's `If-None-Match` matches the answer's
`ETag` (a backend's `etag` metadata copied with TRANSCODER_RESPONSE_HEADERS).

Input: the request and the reply. Output: the reply, or a 304 without a body that keeps its
headers. Entity tags are compared weakly (RFC 9110 13.1.2: `W/` is ignored), as for GET.
"""

from __future__ import annotations

from dataclasses import replace

from grpc_transcoder.exchange import HttpRequest, Reply

MAX_TAGS = 64  # entity tags read from one If-None-Match


def not_modified(request: HttpRequest, reply: Reply) -> Reply:
    """A 304 for a GET or HEAD whose `If-None-Match` names the reply's `etag`, else `reply`."""
    if reply.status != 200 or request.method not in ("GET", "HEAD"):
        return reply
    etag = reply.headers.get("etag")
    condition = request.headers.get("if-none-match")
    if not etag or condition is None or not _matches(condition, etag):
        return reply
    return replace(reply, status=304, body=b"")


def _matches(condition: str, etag: str) -> bool:
    if condition.strip() == "*":
        return True
    wanted = _opaque(etag)
    tags = condition.split(",", MAX_TAGS)[:MAX_TAGS]
    return any(_opaque(tag) == wanted for tag in tags)


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith(("W/", "w/")) else tag
