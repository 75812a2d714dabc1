"""CORS: preflights answered by the function, and the CORS headers of real answers.

Input: the TRANSCODER_CORS_* settings (compiled once into a `CorsPolicy`), a request and the
methods its path allows. Output: the preflight's `Reply` (204 with the `Access-Control-*`
headers, without calling a backend) and the headers an answer to an allowed origin carries.

Behind a REST API `{proxy+}`, an ALB or a function URL, the function receives the browser's
`OPTIONS` preflight itself. (An HTTP API with its own `CorsConfiguration` answers preflights and
rewrites CORS headers before the function is involved: configure CORS in one of the two.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grpc_transcoder.errors import Code, TranscoderError
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.settings import Settings

PREFLIGHT_METHOD = "OPTIONS"
REQUEST_METHOD = "access-control-request-method"
# The response headers the transcoder itself sets, that scripts may want to read.
OWN_RESPONSE_HEADERS = ("grpc-status", "grpc-message", "www-authenticate", "allow")


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """The compiled CORS settings; `origins` lower-cased, None for every origin (`*`)."""

    origins: frozenset[str] | None
    allow_headers: str  # the Access-Control-Allow-Headers value
    expose_headers: str  # the Access-Control-Expose-Headers value
    max_age: str
    credentials: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> CorsPolicy | None:
        """The policy, or None when TRANSCODER_CORS_ORIGINS is empty (CORS off)."""
        if not settings.cors_origins:
            return None
        origins = None if settings.cors_origins == ("*",) else settings.cors_origins
        exposed = settings.cors_expose_headers or _default_exposed(settings)
        return cls(
            origins=None if origins is None else frozenset(o.lower() for o in origins),
            allow_headers=", ".join(settings.cors_allow_headers),
            expose_headers=", ".join(exposed),
            max_age=str(settings.cors_max_age),
            credentials=settings.cors_allow_credentials,
        )

    def allows(self, origin: str) -> bool:
        return bool(origin) and (self.origins is None or origin.lower() in self.origins)

    def is_preflight(self, request: HttpRequest) -> bool:
        headers = request.headers
        return (
            request.method == PREFLIGHT_METHOD and "origin" in headers and REQUEST_METHOD in headers
        )

    def preflight(self, request: HttpRequest, methods: Sequence[str]) -> Reply:
        """The answer to a preflight: 204 with what the path allows, or 403 for an origin that
        is not allowed (without CORS headers, so that the browser refuses the call)."""
        origin = request.headers.get("origin", "")
        if not self.allows(origin):
            raise TranscoderError(
                "this origin may not call the API: it is not in TRANSCODER_CORS_ORIGINS",
                code=Code.PERMISSION_DENIED,
            )
        headers = {
            "access-control-allow-origin": origin,
            "access-control-allow-methods": ", ".join(methods),
            "access-control-allow-headers": self.allow_headers,
            "access-control-max-age": self.max_age,
            "vary": "Origin",
        }
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        return Reply(204, b"", headers, content_type="text/plain")

    def answer_headers(self, request: HttpRequest) -> Mapping[str, str] | None:
        """The CORS headers of an answer to `request`; None when its origin is not allowed."""
        origin = request.headers.get("origin", "")
        if not self.allows(origin):
            return None
        headers = {"access-control-allow-origin": origin}
        if self.expose_headers:
            headers["access-control-expose-headers"] = self.expose_headers
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        return headers


def _default_exposed(settings: Settings) -> tuple[str, ...]:
    """The headers the transcoder sets, the plain copies of backend metadata, and `*` (every
    `Grpc-Metadata-*` header) where browsers honour it: not with credentials."""
    names = (*OWN_RESPONSE_HEADERS, *sorted(settings.response_headers))
    return names if settings.cors_allow_credentials else ("*", *names)
