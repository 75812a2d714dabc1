"""Deadlines: how long a backend call may take.

Input: the `grpc-timeout` request header (`Connect-Timeout-Ms` for Connect calls), the service,
and the Lambda's remaining time. Output: a `Deadline` (the smallest bound and where it came
from), or an error: 400 for an invalid header, 504 at once when too little time is left to make
the call.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from grpc_transcoder.calling.backends import ServicePatterns
from grpc_transcoder.errors import FieldViolation, RequestError, deadline_too_short
from grpc_transcoder.settings import Settings

TIMEOUT_HEADER = "grpc-timeout"
CONNECT_TIMEOUT_HEADER = "connect-timeout-ms"

# The gRPC wire format: at most 8 digits, then one unit letter.
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")
_UNIT_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# The Connect protocol: a positive integer of milliseconds, at most 10 digits.
_CONNECT_TIMEOUT = re.compile(r"[0-9]{1,10}")


class Bound(enum.Enum):
    """What limited a deadline, named in logs and in the 504 message."""

    HEADER = "the grpc-timeout header"
    CONNECT_HEADER = "the Connect-Timeout-Ms header"
    SERVICE_MAXIMUM = "TRANSCODER_MAX_DEADLINE"
    LAMBDA_TIME = "the Lambda's remaining time minus TRANSCODER_DEADLINE_MARGIN_MS"


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute deadline on the monotonic clock, with the bound that set it."""

    expires_at: float
    seconds: float
    bound: Bound

    def remaining(self) -> float:
        """Seconds left now (negative once expired)."""
        return self.expires_at - time.monotonic()

    def describe(self) -> str:
        return f"{self.seconds:.3f} s, set by {self.bound.value}"


def parse_grpc_timeout(text: str) -> float:
    """Seconds from a `grpc-timeout` value such as `250m` or `5S`; raises RequestError (400)."""
    found = _TIMEOUT.fullmatch(text.strip())
    if found is None:
        raise RequestError(
            f"invalid grpc-timeout header {text!r}: expected 1 to 8 digits and a unit"
            " (H, M, S, m, u or n), e.g. 500m",
            violations=[FieldViolation(TIMEOUT_HEADER, "expected <digits><H|M|S|m|u|n>")],
        )
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


def parse_connect_timeout(text: str) -> float:
    """Seconds from a `Connect-Timeout-Ms` value such as `2500`; raises RequestError (400)."""
    if _CONNECT_TIMEOUT.fullmatch(text.strip()) is None:
        raise RequestError(
            f"invalid Connect-Timeout-Ms header {text[:40]!r}: expected 1 to 10 digits"
            " (milliseconds), e.g. 2500",
            violations=[FieldViolation(CONNECT_TIMEOUT_HEADER, "expected 1 to 10 digits")],
        )
    return int(text) / 1000


_DEFAULTS = Settings()  # every default is its TRANSCODER_* setting's
_DEFAULT_MAXIMUM = dict(_DEFAULTS.max_deadline)["*"]


class DeadlinePolicy:
    """The settings that bound every call; built once at cold start.

    `maximum` maps service patterns to seconds (TRANSCODER_MAX_DEADLINE, `*` always present);
    `margin_ms` is kept back from the Lambda's remaining time for encoding the answer; a
    budget under `minimum_ms` answers 504 without calling.
    """

    def __init__(
        self,
        maximum: Iterable[tuple[str, float]] = _DEFAULTS.max_deadline,
        *,
        margin_ms: int = _DEFAULTS.deadline_margin_ms,
        minimum_ms: int = _DEFAULTS.min_deadline_ms,
    ) -> None:
        self._maximum = ServicePatterns(maximum, setting="TRANSCODER_MAX_DEADLINE")
        self._margin = margin_ms / 1000
        self._minimum = minimum_ms / 1000

    @property
    def maximum(self) -> ServicePatterns[float]:
        return self._maximum

    def deadline(
        self,
        service: str,
        *,
        header: str | None,
        remaining_ms: float | None,
        connect_header: str | None = None,
    ) -> Deadline:
        """The smallest bound; raises RequestError (400) or a 504 TranscoderError.

        `header` is the request's `grpc-timeout`; `connect_header` its `Connect-Timeout-Ms`,
        read for Connect calls only.
        """
        maximum = self._maximum.resolve(service) or _DEFAULT_MAXIMUM
        bounds = [(maximum, Bound.SERVICE_MAXIMUM)]
        if header is not None:
            bounds.append((parse_grpc_timeout(header), Bound.HEADER))
        if connect_header is not None:
            bounds.append((parse_connect_timeout(connect_header), Bound.CONNECT_HEADER))
        if remaining_ms is not None:
            bounds.append((remaining_ms / 1000 - self._margin, Bound.LAMBDA_TIME))
        seconds, bound = min(bounds, key=lambda item: item[0])
        if seconds < self._minimum:
            raise deadline_too_short(service, seconds * 1000, bound.value, self._minimum * 1000)
        return Deadline(time.monotonic() + seconds, seconds, bound)
