"""Cold start: what a container loaded at init and how long each step took, as one record.

Input: the steps the Lambda handler timed and the State they built (or why none was).
Output: a `ColdStart` record, which `access_log.AccessLog.cold_start` writes as one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grpc_transcoder.loading.state import State


@dataclass(frozen=True, slots=True)
class ColdStart:
    """What a cold start loaded and how long each step took (milliseconds)."""

    ready: bool
    steps_ms: tuple[tuple[str, float], ...]
    total_ms: float
    sources: tuple[str, ...] = ()
    descriptors_version: str = ""
    files: int = 0
    services: tuple[str, ...] = ()
    methods: int = 0
    routes: int = 0
    backends: tuple[str, ...] = ()
    log_level: str = ""
    error: str = ""

    @classmethod
    def of(
        cls, loaded: State | None, timer: StepTimer, *, log_level: str, error: str = ""
    ) -> ColdStart:
        """The record of a cold start that built `loaded` (None: it failed with `error`)."""
        steps, total = timer.steps(), timer.total_ms()
        if loaded is None:
            return cls(False, steps, total, log_level=log_level, error=error)
        registry, settings = loaded.registry, loaded.settings
        return cls(
            True,
            steps,
            total,
            sources=settings.descriptors,
            descriptors_version=registry.version,
            files=len(registry.files),
            services=registry.services,
            methods=len(registry.methods),
            routes=len(loaded.routes.routes),
            backends=joined(settings.backends),
            log_level=log_level,
        )

    def fields(self) -> dict[str, Any]:
        return {
            "event": "cold_start",
            "ready": self.ready,
            **{f"{name}Ms": ms for name, ms in self.steps_ms},
            "totalMs": self.total_ms,
            "sources": list(self.sources),
            "descriptorsVersion": self.descriptors_version,
            "files": self.files,
            "services": list(self.services),
            "methods": self.methods,
            "routes": self.routes,
            "backends": list(self.backends),
            "logLevel": self.log_level,
            "error": self.error,
        }

    def summary(self) -> str:
        if not self.ready:
            return f"cold start in {self.total_ms:.1f} ms, not ready: {self.error}"
        return (
            f"cold start in {self.total_ms:.1f} ms: {len(self.services)} services, "
            f"{self.methods} methods, {self.routes} routes (descriptors {self.descriptors_version})"
        )


class StepTimer:
    """Times the named steps of a cold start (the last run of each step counts)."""

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = clock()
        self._steps: dict[str, float] = {}

    def timed(self, name: str, step: Callable[[], Any]) -> Callable[[], Any]:
        """`step`, recording how long each call takes under `name`."""

        def run() -> Any:
            started = self._clock()
            try:
                return step()
            finally:
                self._steps[name] = round((self._clock() - started) * 1000, 3)

        return run

    def steps(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._steps.items())

    def total_ms(self) -> float:
        return round((self._clock() - self._started) * 1000, 3)


def joined(pairs: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """`pattern=target` strings for the cold-start line."""
    return tuple(f"{pattern}={target}" for pattern, target in pairs)
