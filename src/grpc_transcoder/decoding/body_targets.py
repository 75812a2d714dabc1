"""Body targets: what an HTTP rule's `body` maps the request body to, and the types it takes.

Input: a message plan and the rule's body (once per route), then each request's Content-Type.
Output: a `BodyTarget`, and per request JSON or form, or a 415 naming the accepted types.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from grpc_transcoder.decoding.field_plans import MessagePlan, PlanCache, Shape
from grpc_transcoder.errors import Code, RequestError, TranscoderError
from grpc_transcoder.exchange import HTTP_BODY, HttpRequest, media_type

logger = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})


class BodyKind(enum.Enum):
    """What the HTTP rule's `body` maps the request body to."""

    NONE = "none"  # no `body`: only the path and the query set fields
    MESSAGE = "message"  # a JSON object or form fields: the request ("*") or a message field
    VALUE = "value"  # JSON for a scalar, repeated or map field
    RAW = "raw"  # google.api.HttpBody: the bytes and the Content-Type as they are


@dataclass(frozen=True, slots=True)
class BodyTarget:
    kind: BodyKind
    field: str  # "" for the whole request, else the (dotted) field path the body maps to

    @property
    def path(self) -> tuple[str, ...]:
        """The body field's path, one proto name per level (empty for the whole request)."""
        return tuple(self.field.split(".")) if self.field else ()

    @property
    def accepts(self) -> str:
        return f"{JSON} or {FORM}" if self.kind is BodyKind.MESSAGE else JSON


def compile_target(plan: MessagePlan, body: str, plans: PlanCache) -> BodyTarget:
    """What `body` (from the HTTP rule) maps to in messages of `plan`; once per route.

    A dotted body (`update.content`) goes through singular message fields to its field.
    """
    if not body:
        return BodyTarget(BodyKind.NONE, "")
    if body == "*":
        kind = BodyKind.RAW if plan.full_name == HTTP_BODY else BodyKind.MESSAGE
        return BodyTarget(kind, "")
    field = None
    names = body.split(".")
    for depth, name in enumerate(names):
        field = plan.field(name)
        if field is None or (depth < len(names) - 1 and field.shape is not Shape.MESSAGE):
            # Routing checks body fields at cold start; this guards rules that bypass it.
            logger.error("the HTTP rule's body %r names no field of %s", body, plan.full_name)
            raise TranscoderError(
                f"the HTTP rule's body {body!r} names no field of {plan.full_name}",
                code=Code.INTERNAL,
            )
        if depth < len(names) - 1:
            plan = plans.plan(field.message_type)
    assert field is not None  # `names` is never empty
    kind = BodyKind.MESSAGE if field.shape is Shape.MESSAGE else BodyKind.VALUE
    if field.shape is Shape.MESSAGE and field.type_name == HTTP_BODY:
        kind = BodyKind.RAW
    return BodyTarget(kind, body)


def is_form(request: HttpRequest, target: BodyTarget) -> bool:
    """True for a form body; False for JSON; raises 415 for a body that cannot be either.

    As in Envoy and grpc-gateway, a JSON route reads its body as JSON whatever the
    Content-Type says, unless it is a form: `text/plain` (what browsers' `fetch` sends for a
    string, and what clients send to avoid a CORS preflight), no Content-Type at all, or any
    other text type. Only binary types (`cannot_be_json`) and charsets other than UTF-8 answer
    415. A form-typed body that starts with '{' or '[' is JSON too: `curl -d '{...}'` labels
    JSON as a form, and no form field name starts with those.
    """
    media, charset = media_type(request.content_type)
    if charset and charset not in _CHARSETS:
        raise _unsupported(f"charset {charset!r}", target, "send UTF-8")
    if media == FORM:
        if request.body.lstrip()[:1] in (b"{", b"["):
            return False
        if target.kind is BodyKind.MESSAGE:
            return True
        raise _unsupported(f"Content-Type {media!r}", target, f"send {target.accepts}")
    if cannot_be_json(media):
        raise _unsupported(f"Content-Type {media!r}", target, f"send {target.accepts}")
    return False


# Media types whose bodies are never JSON text: binary data, archives, multipart forms.
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "multipart/", "application/grpc")
_BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-tar",
        "application/x-protobuf",
        "application/protobuf",
        "application/proto",
        "application/vnd.google.protobuf",
    }
)


def cannot_be_json(media: str) -> bool:
    """Whether a (lower-case) media type names a body that cannot be JSON text."""
    return media in _BINARY_TYPES or media.startswith(_BINARY_PREFIXES)


def _unsupported(what: str, target: BodyTarget, advice: str) -> RequestError:
    where = "this route" if not target.field else f"the body field {target.field!r}"
    return RequestError(f"unsupported {what} for {where}; {advice}", status=415)
