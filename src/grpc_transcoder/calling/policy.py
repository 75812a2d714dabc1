"""Call policy: what the settings decide about every backend call, built once at cold start.

Input: `Settings`, then per call the method and the request. Output: a `CallPolicy` (backends,
channel options, metadata rules, deadline bounds, idempotent methods, the response size limit)
whose `spec` is the one place a call's target, deadline, metadata and retry policy are decided,
for JSON and pass-through calls alike. Unreadable TLS files or bad patterns raise
ConfigurationError naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from grpc_transcoder.calling.backends import BackendMap
from grpc_transcoder.calling.caller import CalledMethod, CallSpec
from grpc_transcoder.calling.channels import ChannelOptions
from grpc_transcoder.calling.deadlines import CONNECT_TIMEOUT_HEADER, TIMEOUT_HEADER, DeadlinePolicy
from grpc_transcoder.calling.request_metadata import MetadataPolicy
from grpc_transcoder.errors import ConfigurationError
from grpc_transcoder.exchange import HttpRequest, Metadata
from grpc_transcoder.settings import Settings


@dataclass(frozen=True, slots=True)
class CallPolicy:
    backends: BackendMap
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
            backends=BackendMap(settings.backends),
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

    def idempotent(self, method: CalledMethod, http_method: str) -> bool:
        """Whether a failed call may be sent again: a GET route, a method marked with
        `idempotency_level`, or one named in TRANSCODER_IDEMPOTENT_METHODS."""
        return (
            http_method == "GET" or method.idempotent or method.full_name in self.idempotent_methods
        )

    def spec(
        self,
        method: CalledMethod,
        request: HttpRequest,
        *,
        http_method: str = "POST",
        added: Metadata = (),
        connect: bool = False,
    ) -> CallSpec:
        """Where and how to call `method` for `request`: the backend, the deadline, the
        metadata (the request's, then `added` by request hooks) and the retry policy.

        `http_method` is the route's (pass-through calls are POSTs); `connect` calls also take
        their deadline from `Connect-Timeout-Ms`. Raises NoBackendError (503), RequestError for
        a bad timeout header (400), or 504 when no time is left.
        """
        headers = request.headers
        deadline = self.deadlines.deadline(
            method.service,
            header=headers.get(TIMEOUT_HEADER),
            remaining_ms=request.remaining_ms(),
            # An empty Connect-Timeout-Ms is no timeout, as Connect's own servers read it.
            connect_header=(headers.get(CONNECT_TIMEOUT_HEADER) or None) if connect else None,
        )
        return CallSpec(
            self.backends.require(method.service),
            method,
            deadline,
            metadata=self.metadata.request_metadata(request) + added,
            idempotent=self.idempotent(method, http_method),
            options=self.channels,
        )
