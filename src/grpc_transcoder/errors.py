"""The one error path: every failure becomes a gRPC status, an HTTP status and a JSON body.

Exception hierarchy::

    TranscoderError                 answered to the caller; carries a gRPC code and details
    ├── NotReadyError               descriptors could not be loaded (503)
    ├── RouteNotFoundError          no route for the path (404)
    ├── MethodNotAllowedError       the path exists under other HTTP methods (405 + Allow)
    ├── RequestError                the request cannot be decoded (400, 413, 415)
    ├── BackendError                the backend answered with a non-OK status
    ├── NoBackendError              no backend configured for the service (503)
    ├── json_codec.JsonEncodeError  a message has no proto3 JSON form (500, INTERNAL)
    └── hooks.HookError             a user hook refused the call with a code of its choice

    ConfigurationError              bad settings or descriptors, found at cold start
    └── DescriptorError             every problem found in one pass over the descriptor sets
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

JsonObject = dict[str, Any]

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
REQUEST_INFO_TYPE = "type.googleapis.com/google.rpc.RequestInfo"

# Bounds on what one error body can hold, whatever the request: at most this many field
# violations (the rest are counted), each field path and description clipped, and the message
# clipped. Together they keep an error body under about 50 KiB.
MAX_REPORTED_PROBLEMS = 100
MAX_FIELD_CHARS = 160
MAX_DESCRIPTION_CHARS = 240
MAX_MESSAGE_CHARS = 2048
LISTED_IN_MESSAGE = 3  # problems spelled out in the message; every reported one is in details


class Code(enum.IntEnum):
    """The gRPC status codes (google.rpc.Code)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# The standard gRPC-to-HTTP mapping (google/rpc/code.proto, grpc-gateway's HTTPStatusFromCode).
HTTP_STATUS: Mapping[int, int] = {
    Code.OK: 200,
    Code.CANCELLED: 499,  # client closed request (nginx's non-standard code)
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,  # not 412: the reference reserves 412 for HTTP preconditions
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}


def http_status(code: int) -> int:
    """The HTTP status for a gRPC code; codes outside the table map to 500."""
    return HTTP_STATUS.get(code, 500)


def code_name(code: int) -> str:
    """The canonical name of a gRPC code (`UNKNOWN` for numbers outside the enum)."""
    try:
        return Code(code).name
    except ValueError:
        return Code.UNKNOWN.name


def clip(text: str, limit: int) -> str:
    """`text`, shortened to `limit` characters with "..." when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field of a request, as in google.rpc.BadRequest.

    Both texts are clipped (MAX_FIELD_CHARS, MAX_DESCRIPTION_CHARS): they may quote the request.
    """

    field: str
    description: str

    def __post_init__(self) -> None:
        if len(self.field) > MAX_FIELD_CHARS:
            object.__setattr__(self, "field", clip(self.field, MAX_FIELD_CHARS))
        if len(self.description) > MAX_DESCRIPTION_CHARS:
            object.__setattr__(self, "description", clip(self.description, MAX_DESCRIPTION_CHARS))


class TranscoderError(Exception):
    """A failure answered to the caller with a gRPC status and its HTTP equivalent.

    `details` are error details already in their JSON form (objects with an `@type`).
    `status` overrides the HTTP status derived from the code (405, 413, 415).
    """

    code: Code = Code.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        details: Sequence[JsonObject] = (),
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.grpc_code: int = self.code if code is None else code
        self.details = list(details)
        self.status = http_status(self.grpc_code) if status is None else status
        self.headers: dict[str, str] = dict(headers or {})


class NotReadyError(TranscoderError):
    code = Code.UNAVAILABLE


class RouteNotFoundError(TranscoderError):
    code = Code.NOT_FOUND


class MethodNotAllowedError(TranscoderError):
    code = Code.UNIMPLEMENTED

    def __init__(self, message: str, *, allow: Sequence[str]) -> None:
        super().__init__(message, status=405, headers={"allow": ", ".join(allow)})
        self.allow = tuple(allow)


class RequestError(TranscoderError):
    """The request cannot be turned into a request message.

    Field violations are reported together in one google.rpc.BadRequest detail. `unlisted`
    counts further problems found but not listed; `stopped` says that decoding gave up after
    MAX_REPORTED_PROBLEMS, so that there may be more. The message may quote the request: it is
    clipped to MAX_MESSAGE_CHARS.
    """

    code = Code.INVALID_ARGUMENT

    def __init__(
        self,
        message: str,
        *,
        violations: Sequence[FieldViolation] = (),
        status: int | None = None,
        code: int | None = None,
        unlisted: int = 0,
        stopped: bool = False,
    ) -> None:
        details = [bad_request_detail(violations)] if violations else []
        super().__init__(
            clip(message, MAX_MESSAGE_CHARS), code=code, details=details, status=status
        )
        self.violations = tuple(violations)
        self.unlisted = unlisted
        self.stopped = stopped


class Violations:
    """The problems of one request as they are found: the first MAX_REPORTED_PROBLEMS are kept,
    the rest only counted, so that a hostile request cannot grow the error without bound."""

    __slots__ = ("listed", "stopped", "unlisted")

    def __init__(self) -> None:
        self.listed: list[FieldViolation] = []
        self.unlisted = 0
        self.stopped = False

    def __bool__(self) -> bool:
        return bool(self.listed)

    def __len__(self) -> int:
        return len(self.listed) + self.unlisted

    def append(self, violation: FieldViolation) -> None:
        if len(self.listed) < MAX_REPORTED_PROBLEMS:
            self.listed.append(violation)
        else:
            self.unlisted += 1

    def add(self, error: RequestError) -> None:
        """Take over the problems of `error` (its message when it lists none)."""
        for violation in error.violations or (FieldViolation("", error.message),):
            self.append(violation)
        self.unlisted += error.unlisted
        self.stopped = self.stopped or error.stopped

    def error(self, subject: str = "") -> RequestError:
        return problems_error(
            self.listed, unlisted=self.unlisted, stopped=self.stopped, subject=subject
        )


def problems_error(
    violations: Sequence[FieldViolation],
    *,
    unlisted: int = 0,
    stopped: bool = False,
    subject: str = "",
) -> RequestError:
    """The one 400 for the problems of a request: the first few spelled out in the message,
    up to MAX_REPORTED_PROBLEMS in the BadRequest detail, how many more in the message.

    `subject` ("invalid JSON for library.v1.Shelf") opens the message; `stopped` says that
    decoding stopped looking after MAX_REPORTED_PROBLEMS.
    """
    listed = list(violations[:MAX_REPORTED_PROBLEMS])
    unlisted += len(violations) - len(listed)
    lines = [f"{v.field}: {v.description}" if v.field else v.description for v in listed]
    total = len(lines) + unlisted
    text = "; ".join(lines[:LISTED_IN_MESSAGE])
    if total > 1:
        text = f"{total}{' or more' if stopped else ''} problems: {text}"
    in_details = len(lines) - min(len(lines), LISTED_IN_MESSAGE)
    if in_details:
        text += f"; and {in_details} more (see details)"
    if unlisted:
        text += f"; {unlisted} more not listed"
    if stopped:
        text += f"; decoding stopped after {MAX_REPORTED_PROBLEMS} problems"
    message = f"{subject}: {text}" if subject else text
    return RequestError(message, violations=listed, unlisted=unlisted, stopped=stopped)


class BackendError(TranscoderError):
    """The backend answered with a non-OK status (details already rendered as JSON)."""


class NoBackendError(TranscoderError):
    code = Code.UNAVAILABLE


class ConfigurationError(Exception):
    """A setting or a descriptor set is unusable; raised at cold start, never per request."""


class DescriptorError(ConfigurationError):
    """Every problem found while loading descriptor sets, reported together."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the descriptor sets"
        super().__init__(head + ": " + "; ".join(self.problems))


def bad_request_detail(violations: Sequence[FieldViolation]) -> JsonObject:
    """A google.rpc.BadRequest detail in its JSON form."""
    return {
        "@type": BAD_REQUEST_TYPE,
        "fieldViolations": [{"field": v.field, "description": v.description} for v in violations],
    }


def request_too_large(size: int, limit: int, *, what: str = "the request body") -> RequestError:
    """413: a request body (or stream) over TRANSCODER_MAX_REQUEST_BYTES."""
    return RequestError(
        f"{what} is {size} bytes; the limit is {limit} bytes (TRANSCODER_MAX_REQUEST_BYTES)",
        status=413,
        code=Code.RESOURCE_EXHAUSTED,
    )


def check_request_size(body: bytes, limit: int, *, what: str = "the request body") -> None:
    """Raise `request_too_large` when `body` is over `limit` bytes."""
    if len(body) > limit:
        raise request_too_large(len(body), limit, what=what)


def response_too_large(limit: int, *, what: str) -> TranscoderError:
    """RESOURCE_EXHAUSTED answered with 502: the backend's answer cannot be delivered whole.

    Not 429 as the table would give: the client is not sending too much, the upstream
    answer is too big for the function's response limit.
    """
    return TranscoderError(
        f"{what} exceeds TRANSCODER_MAX_RESPONSE_BYTES ({limit} bytes); ask for less"
        " (e.g. a smaller page size)",
        code=Code.RESOURCE_EXHAUSTED,
        status=502,
    )


def deadline_too_short(
    service: str, left_ms: float, bound: str, minimum_ms: float
) -> TranscoderError:
    """504 at once: the time left for a call to `service` is under TRANSCODER_MIN_DEADLINE_MS."""
    return TranscoderError(
        f"deadline exceeded before calling {service}: {max(0.0, left_ms):.0f} ms left ({bound}),"
        f" less than TRANSCODER_MIN_DEADLINE_MS ({minimum_ms:.0f} ms)",
        code=Code.DEADLINE_EXCEEDED,
    )


def internal_error(request_id: str) -> TranscoderError:
    """An unexpected failure: INTERNAL, with the request id to quote (the cause is logged)."""
    return TranscoderError(
        f"internal error; quote request id {request_id}",
        code=Code.INTERNAL,
        details=[request_info_detail(request_id)],
    )


def request_info_detail(request_id: str) -> JsonObject:
    """A google.rpc.RequestInfo detail naming the request, for errors the caller must report."""
    return {"@type": REQUEST_INFO_TYPE, "requestId": request_id, "servingData": ""}


def error_body(error: TranscoderError, *, google_format: bool = False) -> bytes:
    """The JSON body of an error response.

    The default shape is grpc-gateway's `{"code", "message", "details"}`; with
    `google_format` it is Google's `{"error": {"code", "message", "status", "details"}}`,
    where `code` is the HTTP status.
    """
    if google_format:
        payload: JsonObject = {
            "error": {
                "code": error.status,
                "message": error.message,
                "status": code_name(error.grpc_code),
                "details": error.details,
            }
        }
    else:
        payload = {"code": error.grpc_code, "message": error.message, "details": error.details}
    return orjson.dumps(payload)
