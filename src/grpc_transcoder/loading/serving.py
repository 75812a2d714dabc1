"""Serving options: what the request path reads of the settings besides its stages' options.

Input: `Settings`. Output: `ServingOptions`, compiled once per State (and, while nothing could be
loaded, from the environment by the health report).
"""

from __future__ import annotations

from dataclasses import dataclass

from grpc_transcoder.reserved.cors import CorsPolicy
from grpc_transcoder.settings import ErrorFormat, Passthrough, Settings


@dataclass(frozen=True, slots=True)
class ServingOptions:
    """What the request path reads of the settings besides its stages' own options."""

    google_errors: bool  # TRANSCODER_ERROR_FORMAT=google
    passthrough: Passthrough
    health_path: str  # without a trailing '/'; "" when off
    health_check_backends: bool
    openapi_path: str
    metrics: bool
    metrics_namespace: str
    cors: CorsPolicy | None  # None: CORS off
    compression_min_bytes: int  # 0: off
    response_headers: frozenset[str]  # metadata keys also copied as plain headers
    max_request_bytes: int
    connect: bool  # TRANSCODER_CONNECT
    base_path: str  # TRANSCODER_BASE_PATH without a trailing '/' ("" for the root)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServingOptions:
        return cls(
            google_errors=settings.error_format is ErrorFormat.GOOGLE,
            passthrough=settings.passthrough,
            health_path=settings.health_path.rstrip("/"),
            health_check_backends=settings.health_check_backends,
            openapi_path=settings.openapi_path.rstrip("/"),
            metrics=settings.metrics,
            metrics_namespace=settings.metrics_namespace,
            cors=CorsPolicy.from_settings(settings),
            compression_min_bytes=settings.compression_min_bytes,
            response_headers=settings.response_headers,
            max_request_bytes=settings.max_request_bytes,
            connect=settings.connect,
            base_path=settings.base_path.rstrip("/"),
        )
