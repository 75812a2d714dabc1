"""Runtime: the State of a container, built once and replaced only as a whole.

Input: `Settings`. Output: the current `State` for each request, or NotReadyError while the
descriptors cannot be loaded (retried with a backoff). With a TTL, changed S3 sets swap in live.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from grpc_transcoder.calling.channels import ChannelCache
from grpc_transcoder.errors import ConfigurationError, DescriptorError, NotReadyError
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading import state
from grpc_transcoder.loading.sources import Snapshot
from grpc_transcoder.loading.state import State
from grpc_transcoder.settings import Settings

logger = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 300.0
# The first retry delay while the settings themselves cannot be read.
DEFAULT_RETRY_SECONDS = Settings().descriptors_retry_seconds


def build(settings: Settings, *, channels: ChannelCache | None = None) -> State:
    """Read the descriptors and build everything; raises ConfigurationError naming each problem."""
    return _read_and_build(settings, channels)[0]


def _read_and_build(settings: Settings, channels: ChannelCache | None) -> tuple[State, Snapshot]:
    # Sets that could be read are still checked when others could not: one report, every problem.
    snapshot, read_problems = descriptor_source.read_each(
        settings.descriptors, settings.service_config, settings=settings
    )
    built = state.build(
        settings,
        snapshot.blobs,
        read_problems=read_problems,
        service_configs=snapshot.config_blobs,
        channels=channels,
    )
    return built, snapshot


@dataclass(frozen=True, slots=True)
class RuntimeStatus:
    """What a health report needs to know about the descriptors."""

    ready: bool
    version: str  # of the descriptors serving requests ("" until loaded)
    error: str  # why not ready, or why the latest change was rejected ("" when none)
    swaps: int  # how often a changed set replaced the serving one


class Runtime:
    """Holds the current State: loads it, retries failures, revalidates and swaps.

    Requests call `current()` once and keep the State it returns, so a swap (one
    attribute assignment) never mixes two versions within a request. Channels live here, not
    in the State, so connections survive swaps.
    """

    def __init__(
        self,
        settings: Callable[[], Settings],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings_factory = settings
        self._clock = clock
        self._lock = threading.RLock()
        self._state: State | None = None
        self._snapshot: Snapshot | None = None  # the latest read, even when it was rejected
        self._failure = ""
        self._rejected = ""
        self._retry_at = 0.0
        self._retry_delay = 0.0
        self._revalidate_at = math.inf
        self._swaps = 0
        self.channels = ChannelCache()

    def current(self) -> State:
        """The State for one request; raises NotReadyError while none can be built."""
        loaded = self._state
        if loaded is None:
            return self._first_load()
        if self._clock() >= self._revalidate_at:
            self.revalidate()
            return self._state or loaded
        return loaded

    def status(self) -> RuntimeStatus:
        loaded = self._state
        version = loaded.registry.version if loaded else ""
        error = self._failure or self._rejected
        return RuntimeStatus(loaded is not None, version, error, self._swaps)

    def _first_load(self) -> State:
        with self._lock:
            if self._state is not None:  # another thread loaded it meanwhile
                return self._state
            if self._failure and self._clock() < self._retry_at:
                raise self._not_ready()
            return self.load()

    def load(self) -> State:
        """Read and build everything now; on failure, log why and when to try again.

        Never lets an exception other than NotReadyError escape, so a cold start cannot
        crash the import of the Lambda handler.
        """
        with self._lock:
            started = self._clock()
            settings: Settings | None = None
            try:
                settings = self._settings_factory()
                loaded, snapshot = _read_and_build(settings, self.channels)
            except Exception as exc:  # noqa: BLE001 - any failure becomes a logged 503, never a crash
                self._fail(exc, settings)
                raise self._not_ready() from None
            self._install(loaded, snapshot, started, swap=False)
            return loaded

    def revalidate(self) -> bool:
        """Ask the S3 sources whether they changed and swap in a changed set that builds.

        Returns whether a swap happened. Never raises: a source that cannot be read or a set
        that does not build is logged and the current State keeps serving. A thread that
        finds another one revalidating returns at once.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self._revalidate()
        finally:
            self._lock.release()

    def _revalidate(self) -> bool:
        current, previous = self._state, self._snapshot
        if current is None or previous is None:
            return False
        started = self._clock()
        self._revalidate_at = self._next_check(current, previous)
        try:
            snapshot = descriptor_source.revalidate(previous, current.settings)
        except Exception as exc:  # noqa: BLE001 - S3 trouble must not stop a working container
            logger.error(
                "cannot revalidate descriptors, still serving %s: %s",
                current.registry.version,
                exc,
            )
            return False
        if snapshot is None:
            logger.debug("descriptors unchanged (%s)", current.registry.version)
            return False
        return self._swap(current, snapshot, started)

    def _swap(self, current: State, snapshot: Snapshot, started: float) -> bool:
        # Remembered even if it does not build: an unchanged broken set is not fetched again.
        self._snapshot = snapshot
        every = (*snapshot.blobs, *snapshot.config_blobs)
        if descriptors.version_of(every) == current.registry.version:
            return False  # re-uploaded with the same bytes (a new ETag, nothing new)
        try:
            loaded = state.build(
                current.settings,
                snapshot.blobs,
                service_configs=snapshot.config_blobs,
                channels=self.channels,
            )
        except Exception as exc:  # noqa: BLE001 - a broken set never replaces a working one
            self._rejected = _reason(exc)
            logger.error(
                "changed descriptors rejected, still serving %s: %s",
                current.registry.version,
                self._rejected,
            )
            return False
        self._install(loaded, snapshot, started, swap=True)
        return True

    def _install(self, loaded: State, snapshot: Snapshot, started: float, *, swap: bool) -> None:
        previous = self._state
        self._state = loaded  # the swap: requests pick it up from here on
        self._snapshot = snapshot
        self._failure = self._rejected = ""
        self._retry_delay = 0.0
        self._swaps += swap
        self._revalidate_at = self._next_check(loaded, snapshot)
        self._log_loaded(loaded, previous, (self._clock() - started) * 1000)

    def _next_check(self, loaded: State, snapshot: Snapshot) -> float:
        ttl = loaded.settings.descriptors_ttl
        return self._clock() + ttl if ttl and snapshot.revalidates else math.inf

    def _log_loaded(self, loaded: State, previous: State | None, elapsed_ms: float) -> None:
        registry = loaded.registry
        action = f"swapped {previous.registry.version} for" if previous else "loaded"
        logger.info(
            "%s descriptors %s: %d services, %d methods, %d routes in %.1f ms",
            action,
            registry.version,
            len(registry.services),
            len(registry.methods),
            len(loaded.routes.routes),
            elapsed_ms,
        )
        for note in registry.notes:
            logger.info("descriptors: %s", note)
        for warning in loaded.warnings:
            logger.warning("%s", warning)

    def _fail(self, exc: Exception, settings: Settings | None) -> None:
        base = settings.descriptors_retry_seconds if settings else DEFAULT_RETRY_SECONDS
        delay = min(MAX_RETRY_SECONDS, self._retry_delay * 2 if self._retry_delay else base)
        self._retry_delay = delay
        self._retry_at = self._clock() + delay
        self._failure = _reason(exc)
        if isinstance(exc, ConfigurationError):
            logger.error("not ready (next attempt in %.0f s): %s", delay, self._failure)
        else:
            logger.exception("not ready (next attempt in %.0f s): %s", delay, self._failure)

    def _not_ready(self) -> NotReadyError:
        wait = max(0.0, self._retry_at - self._clock())
        return NotReadyError(
            f"the transcoder is not ready: {self._failure}",
            headers={"retry-after": str(math.ceil(wait))},
        )


def _reason(exc: Exception) -> str:
    """The cause of a failed load in one line, without internals for unexpected errors."""
    if isinstance(exc, DescriptorError):
        return f"cannot load the descriptor sets: {exc}"
    if isinstance(exc, ConfigurationError):
        return f"invalid configuration: {exc}"
    return f"unexpected {type(exc).__name__} while loading (see the function's log)"
