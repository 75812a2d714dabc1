"""Call policy: what the settings decide about every backend call, built once at cold start.

Input: `Settings`. Output: a `CallPolicy` (channel options, metadata rules, deadline bounds,
idempotent methods, the response size limit). Unreadable TLS files or bad patterns raise
ConfigurationError naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from grpc_transcoder.calling.channels import ChannelOptions
from grpc_transcoder.calling.deadlines import DeadlinePolicy
from grpc_transcoder.calling.request_metadata import MetadataPolicy
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.routing.table import Route
from grpc_transcoder.settings import Settings


@dataclass(frozen=True, slots=True)
class CallPolicy:
    channels: ChannelOptions
    metadata: MetadataPolicy
    deadlines: DeadlinePolicy
    idempotent_methods: frozenset[str]
    max_response_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CallPolicy:
        for name in settings.idempotent_methods:
            service, slash, method = name.partition("/")
            if not slash or not service or not method or "/" in method:
                raise ConfigurationError(
                    f"TRANSCODER_IDEMPOTENT_METHODS: {name!r} is not `package.Service/Method`"
                )
        return cls(
            channels=ChannelOptions.from_settings(settings),
            metadata=MetadataPolicy(
                forward_headers=settings.forward_headers,
                authorizer_metadata=settings.authorizer_metadata,
            ),
            deadlines=DeadlinePolicy(
                settings.max_deadline,
                margin_ms=settings.deadline_margin_ms,
                minimum_ms=settings.min_deadline_ms,
            ),
            idempotent_methods=frozenset(settings.idempotent_methods),
            max_response_bytes=settings.max_response_bytes,
        )

    def idempotent(self, route: Route) -> bool:
        """Whether a failed call on `route` may be sent again: a GET route, a method marked
        with `idempotency_level`, or one named in TRANSCODER_IDEMPOTENT_METHODS."""
        method = route.method
        return (
            route.http_method == "GET"
            or method.idempotent
            or (method.full_name in self.idempotent_methods)
        )
