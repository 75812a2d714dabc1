"""Request decoding: the body, then path variables, then query parameters, into the request message.

Input: a routing `Match` and the `HttpRequest`. Output: the filled request message, or a
RequestError: 400 listing every violation found, 413 for a body over the limit, 415 for an
unsupported Content-Type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.message import Message

from grpc_transcoder.decoding import field_mask_fill
from grpc_transcoder.decoding.body_targets import BodyKind, BodyTarget, compile_target, is_form
from grpc_transcoder.decoding.field_binding import Binder, Origin
from grpc_transcoder.decoding.field_plans import FieldPath, MessagePlan, PlanCache, Shape
from grpc_transcoder.decoding.field_values import (
    ConversionError,
    Converter,
    JsonDecoder,
    decode_json,
)
from grpc_transcoder.decoding.query_string import parse_pairs
from grpc_transcoder.errors import (
    FieldViolation,
    RequestError,
    Violations,
    check_request_size,
)
from grpc_transcoder.exchange import HttpRequest
from grpc_transcoder.json import documents
from grpc_transcoder.routing.table import Match
from grpc_transcoder.settings import Settings, UnknownFields

_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


_DEFAULTS = Settings()


@dataclass(frozen=True, slots=True)
class DecodingOptions:
    """How requests are decoded; each default is the default of its TRANSCODER_* setting
    (written once, in `settings`)."""

    max_request_bytes: int = _DEFAULTS.max_request_bytes  # Lambda's payload limit is 6 MB
    max_parameters: int = _DEFAULTS.max_parameters  # as Django's DATA_UPLOAD_MAX_NUMBER_FIELDS
    max_stream_messages: int = _DEFAULTS.max_stream_messages
    # grpc-gateway ignores unknown query parameters; rejecting them says so.
    reject_unknown_query_parameters: bool = (
        _DEFAULTS.unknown_query_parameters is UnknownFields.REJECT
    )
    ignored_query_parameters: frozenset[str] = _DEFAULTS.ignored_query_parameters
    enum_case_insensitive: bool = _DEFAULTS.enum_case_insensitive
    query_plus_as_space: bool = _DEFAULTS.query_plus_as_space  # Envoy keeps `+` by default

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodingOptions:
        return cls(
            max_request_bytes=settings.max_request_bytes,
            max_parameters=settings.max_parameters,
            max_stream_messages=settings.max_stream_messages,
            reject_unknown_query_parameters=(
                settings.unknown_query_parameters is UnknownFields.REJECT
            ),
            ignored_query_parameters=settings.ignored_query_parameters,
            enum_case_insensitive=settings.enum_case_insensitive,
            query_plus_as_space=settings.query_plus_as_space,
        )


class RequestDecoder:
    """Decodes requests into messages; per-type plans are compiled once and kept.

    `json` decodes JSON values into messages and names the failing field
    (`json_codec.JsonCodec`); its options decide about unknown JSON fields.
    """

    def __init__(self, json: JsonDecoder, *, options: DecodingOptions | None = None) -> None:
        self.json = json
        self.options = options or DecodingOptions()
        self._plans = PlanCache(json=json, enum_case_insensitive=self.options.enum_case_insensitive)
        self._targets: dict[tuple[str, str], BodyTarget] = {}
        # By route (its id: the routes live as long as this decoder's State): how its path
        # variables are set when a request has nothing else; () when they need the full path.
        self._path_setters: dict[int, tuple[tuple[str, Converter], ...]] = {}

    @property
    def plans(self) -> PlanCache:
        return self._plans

    def decode(self, match: Match, request: HttpRequest, message: Message) -> Message:
        """Fill `message` from the request and return it; raises RequestError."""
        if not request.body and not request.query and self._path_only(match, message):
            return message  # the common GET: path variables alone, set straight
        check_request_size(request.body, self.options.max_request_bytes)
        route = match.route
        plan = self._plans.plan_of(message)
        target = self._target(plan, route.body)
        violations = Violations()
        binder = Binder(
            self._plans,
            message,
            violations,
            body=route.body,
            reject_unknown=self.options.reject_unknown_query_parameters,
        )
        body = self._body(target, request, binder)
        for path, value in match.bindings:
            binder.bind(".".join(path), path, value, origin=Origin.PATH, map_key=None)
        query = request.query.encode()
        pairs = parse_pairs(
            query,
            violations,
            limit=self.options.max_parameters,
            plus_as_space=self.options.query_plus_as_space,
        )
        binder.bind_pairs(pairs, origin=Origin.QUERY, ignored=self.options.ignored_query_parameters)
        if violations:
            raise violations.error()
        if request.method == "PATCH" and len(target.path) == 1:
            field_mask_fill.fill(
                message, plan, body_field=target.field, body=body, plans=self._plans
            )
        return message

    def _path_only(self, match: Match, message: Message) -> bool:
        """Set the path variables of a request without body or query to a route that takes
        no body, when each binds a top-level scalar outside any oneof and converts cleanly;
        False to decode in full (which also names any problem)."""
        route = match.route
        setters = self._path_setters.get(id(route))
        if setters is None:
            setters = self._path_setters[id(route)] = self._compile_path_setters(match, message)
        if not setters:
            return False
        values = []
        try:
            for (name, convert), (_, value) in zip(setters, match.bindings, strict=True):
                values.append((name, convert(value)))
        except ConversionError:
            return False
        for name, converted in values:
            setattr(message, name, converted)
        return True

    def _compile_path_setters(
        self, match: Match, message: Message
    ) -> tuple[tuple[str, Converter], ...]:
        if match.route.body:
            return ()  # an empty body may still set its field (and a PATCH's mask)
        plan = self._plans.plan_of(message)
        setters = []
        for path, _ in match.bindings:
            field = plan.field(path[0]) if len(path) == 1 else None
            if field is None or field.shape is not Shape.VALUE or field.oneof:
                return ()
            if field.convert is None or field.descriptor.message_type is not None:
                return ()
            setters.append((field.name, field.convert))
        return tuple(setters)

    def _target(self, plan: MessagePlan, body: str) -> BodyTarget:
        key = (plan.full_name, body)
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = compile_target(plan, body, self._plans)
        return target

    def _body(self, target: BodyTarget, request: HttpRequest, binder: Binder) -> Any:
        """Decode the body into the message; returns the JSON value, if the body was JSON."""
        if target.kind is BodyKind.NONE:
            _check_no_body(request.body, binder.violations)
            return None
        if target.kind is BodyKind.RAW:
            _set_raw(binder.message, target.path, request)
            return None
        if is_form(request, target):
            prefix: FieldPath = target.path
            pairs = parse_pairs(
                request.body,
                binder.violations,
                limit=self.options.max_parameters,
                what="the form body",
            )
            ignored = self.options.ignored_query_parameters
            binder.bind_pairs(pairs, origin=Origin.BODY, prefix=prefix, ignored=ignored)
            return None
        return self._json_body(target, request.body, binder)

    def _json_body(self, target: BodyTarget, body: bytes, binder: Binder) -> Any:
        value = _parse_json(body, binder.violations)
        if value is None:
            return None
        sent = value
        for name in reversed(target.path):  # the body's value, placed at its field
            value = {name: value}
        if not target.path and not isinstance(value, dict):
            kind = _JSON_KINDS.get(type(value), "value")
            problem = f"the body must be a JSON object for {binder.message.DESCRIPTOR.full_name}"
            binder.violations.append(FieldViolation("", f"{problem}, got {kind}"))
            return None
        try:
            decode_json(self.json, value, binder.message)
        except RequestError as exc:
            binder.violations.add(as_sent(exc, target.field))
        root = self._plans.plan_of(binder.message)
        binder.body_sets = lambda path: _json_has(value, path, root, self._plans)
        return sent


def as_sent(error: RequestError, body_field: str) -> RequestError:
    """The problems of a body bound to `body_field` (a dotted path), with field paths as the
    client wrote them (`tehme`, not `shelf.tehme`): the client sent the field's value, not an
    object holding it."""
    if not body_field:
        return error
    violations = [
        FieldViolation(_strip_field(violation.field, body_field), violation.description)
        for violation in error.violations
    ]
    return RequestError(
        error.message, violations=violations, unlisted=error.unlisted, stopped=error.stopped
    )


def _strip_field(path: str, body_field: str) -> str:
    if path == body_field:
        return ""
    rest = path[len(body_field) :] if path.startswith(body_field) else path
    return rest[1:] if rest.startswith(".") else rest


def _check_no_body(body: bytes, violations: Violations) -> None:
    if body.strip():
        violations.append(
            FieldViolation(
                "",
                "this route takes no request body (its HTTP rule has no body); send the"
                " fields as query parameters",
            )
        )


def _set_raw(message: Message, path: FieldPath, request: HttpRequest) -> None:
    target: Any = message
    for name in path:
        target = getattr(target, name)
    target.content_type = request.content_type
    target.data = request.body


def _parse_json(body: bytes, violations: Violations) -> Any:
    """The parsed body; None for an empty body or a violation."""
    if not body:
        return None
    if not body.strip():
        violations.append(
            FieldViolation("", "the body is only whitespace; send JSON, or no body at all")
        )
        return None
    try:
        value = documents.loads(body)
    except orjson.JSONDecodeError as exc:
        violations.append(FieldViolation("", f"the body is not valid JSON: {exc}"))
        return None
    except documents.DuplicateKeyError as exc:
        violations.append(FieldViolation("", f"the body is not valid: {exc}"))
        return None
    if value is None:
        violations.append(
            FieldViolation("", "the body is JSON null; send a JSON value, or no body")
        )
    return value


def _json_has(value: Any, path: FieldPath, plan: MessagePlan, plans: PlanCache) -> bool:
    """Whether the JSON body gives a non-null value at `path` (proto or JSON names)."""
    for name in path:
        field = plan.field(name)
        if not isinstance(value, dict) or field is None:
            return False
        value = value.get(field.name, value.get(field.json_name))
        if value is None:
            return False
        if field.shape is Shape.MESSAGE:
            plan = plans.plan(field.message_type)
    return True
