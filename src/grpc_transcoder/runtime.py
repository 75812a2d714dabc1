"""Runtime: the cold-start state of a container, built once and replaced only as a whole.

Input: `Settings`. Output: a `Transcoder` (registry, route table, codec, backends) for each
request, or a NotReadyError while descriptors cannot be loaded (retried with a backoff).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from grpc_transcoder import descriptor_source, descriptors, routing
from grpc_transcoder.backends import BackendMap
from grpc_transcoder.channels import ChannelCache
from grpc_transcoder.descriptors import Registry
from grpc_transcoder.errors import ConfigurationError, DescriptorError, NotReadyError
from grpc_transcoder.json_codec import JsonCodec, JsonOptions
from grpc_transcoder.routing import RouteTable
from grpc_transcoder.settings import Settings, UnknownFields

logger = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Transcoder:
    """Everything built at cold start; immutable, so a swap replaces it in one assignment."""

    settings: Settings
    registry: Registry
    routes: RouteTable
    codec: JsonCodec
    backends: BackendMap


def build(settings: Settings) -> Transcoder:
    """Load descriptors and compile routes; raises ConfigurationError listing every problem."""
    registry = descriptors.build(descriptor_source.read_all(settings.descriptors))
    routes, problems = routing.routes_for(
        registry,
        default_routes=settings.default_routes,
        default_routes_for_annotated=settings.default_routes_for_annotated,
    )
    for problem in problems:
        logger.warning("route skipped: %s", problem)
    backends = BackendMap(settings.backends)
    unrouted = backends.unrouted(registry.services)
    if unrouted:
        logger.warning("no backend configured for: %s", ", ".join(unrouted))
    codec = JsonCodec(registry.pool, json_options(settings))
    return Transcoder(settings, registry, RouteTable(routes), codec, backends)


def json_options(settings: Settings) -> JsonOptions:
    return JsonOptions(
        use_proto_names=settings.json_use_proto_names,
        omit_unpopulated=settings.json_omit_unpopulated,
        enums_as_ints=settings.json_enums_as_ints,
        ignore_unknown_fields=settings.unknown_json_fields is UnknownFields.IGNORE,
    )


class Runtime:
    """Holds the current Transcoder; loads it on first use and retries failures with a backoff."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings_factory = settings
        self._clock = clock
        self._transcoder: Transcoder | None = None
        self._failure = ""
        self._retry_at = 0.0
        self._retry_delay = 0.0
        self.channels = ChannelCache()

    def current(self) -> Transcoder:
        transcoder = self._transcoder
        if transcoder is not None:
            return transcoder
        if self._failure and self._clock() < self._retry_at:
            raise NotReadyError(f"the transcoder is not ready: {self._failure}")
        return self.load()

    def load(self) -> Transcoder:
        """Build the Transcoder now; on failure, remember why and when to try again."""
        started = self._clock()
        try:
            settings = self._settings_factory()
            transcoder = build(settings)
        except ConfigurationError as exc:
            self._fail(exc, settings=None)
            raise NotReadyError(f"the transcoder is not ready: {self._failure}") from None
        self._transcoder = transcoder
        self._failure = ""
        logger.info(
            "loaded %d services, %d methods, %d routes (descriptors %s) in %.1f ms",
            len(transcoder.registry.services),
            len(transcoder.registry.methods),
            len(transcoder.routes.routes),
            transcoder.registry.version,
            (self._clock() - started) * 1000,
        )
        return transcoder

    def _fail(self, exc: ConfigurationError, *, settings: Settings | None) -> None:
        base = 5.0 if settings is None else settings.descriptors_retry_seconds
        self._retry_delay = min(
            MAX_RETRY_SECONDS, self._retry_delay * 2 if self._retry_delay else base
        )
        self._retry_at = self._clock() + self._retry_delay
        self._failure = str(exc)
        kind = "descriptors" if isinstance(exc, DescriptorError) else "settings"
        logger.error("cannot load %s (retry in %.0f s): %s", kind, self._retry_delay, self._failure)
