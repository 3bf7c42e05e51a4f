"""The guard's live figures: per domain, mode and second, over a sliding window.

Fed from this process only, on the calling thread, so every add is a few dict operations
under one lock. Latency is kept as fixed-bucket histograms (the rollup's buckets), which add
up across seconds so any span's p99 can be estimated.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from persistence.errors import NotFoundError, ValidationError
from shadow.observation import SHADOW_ERROR, SHADOW_TIMEOUT, Observation, Result
from shadow.rollup import BUCKETS_MS, percentile

SHADOW_FAULTS = frozenset({SHADOW_TIMEOUT, SHADOW_ERROR})

__all__ = ["PATHS", "Figures", "SlidingWindow", "is_fault"]

PATHS = ("legacy", "async")
_REFUSALS = (ValidationError, NotFoundError)


def is_fault(error: BaseException | None) -> bool:
    """True for a failure of the path, False for none or for a game-rule refusal."""
    return error is not None and not isinstance(error, _REFUSALS)


class _Second:
    """The counts of one (domain, mode) in one second."""

    __slots__ = ("calls", "comparisons", "divergences", "errors", "hist", "samples")

    def __init__(self) -> None:
        self.calls = self.comparisons = self.divergences = 0
        self.errors = dict.fromkeys(PATHS, 0)
        self.samples = dict.fromkeys(PATHS, 0)
        self.hist = {path: [0] * (len(BUCKETS_MS) + 1) for path in PATHS}


@dataclass(frozen=True, slots=True)
class Figures:
    """What one domain did in one mode over ``span_s`` seconds."""

    span_s: float
    calls: int = 0
    comparisons: int = 0
    divergences: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATHS, 0))
    samples: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATHS, 0))
    p99_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PATHS))

    @property
    def divergence_rate(self) -> float:
        """Divergences per comparison (0 without comparisons)."""
        return self.divergences / self.comparisons if self.comparisons else 0.0

    def error_rate(self, path: str) -> float:
        """Errors per call of ``path`` (0 without calls)."""
        return self.errors[path] / self.samples[path] if self.samples[path] else 0.0

    @property
    def p99_ratio(self) -> float | None:
        """The async path's p99 over the legacy path's, when both are known."""
        fast, slow = self.p99_ms["legacy"], self.p99_ms["async"]
        return slow / fast if fast and slow is not None else None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the audit log and the log event."""
        data = asdict(self)
        data["divergence_rate"] = round(self.divergence_rate, 4)
        data["error_rate"] = {path: round(self.error_rate(path), 4) for path in PATHS}
        return data


class SlidingWindow:
    """Per (domain, mode), per-second counts over the last ``window_s`` seconds; thread-safe."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seconds: dict[tuple[str, str], dict[int, _Second]] = {}

    def add_result(self, result: Result) -> None:
        """Count one shadowed call (the engine's listener)."""
        compared = result.kind != SHADOW_TIMEOUT
        # A shadow that timed out or failed is the shadow path's fault, counted as its error
        # below; it says nothing about whether the two paths agree, so it is no divergence.
        # (In live the shadow is legacy: its slowness must not roll the async path back.)
        disagreed = result.mismatched and result.kind not in SHADOW_FAULTS
        with self._lock:
            second = self._second(result.domain, result.mode)
            second.calls += 1
            second.comparisons += compared
            second.divergences += disagreed
            _observe(second, result.primary, timed_out=False)
            _observe(second, result.shadow, timed_out=not compared)

    def add_call(self, domain: str, mode: str, path: str, duration_s: float, fault: bool) -> None:
        """Count one call served by one path only (``async`` mode)."""
        with self._lock:
            second = self._second(domain, mode)
            second.calls += 1
            _count_path(second, path, duration_s, fault)

    def figures(self, domain: str, mode: str, span_s: float) -> Figures:
        """The sums over the last ``span_s`` seconds."""
        since = int(self._clock() - span_s)
        with self._lock:
            seconds = [s for t, s in self._seconds.get((domain, mode), {}).items() if t > since]
            return _sum(seconds, span_s)

    def reset(self, domain: str, mode: str) -> None:
        """Forget what ``domain`` did in ``mode`` (after a rollback out of it)."""
        with self._lock:
            self._seconds.pop((domain, mode), None)

    def _second(self, domain: str, mode: str) -> _Second:
        now = int(self._clock())
        seconds = self._seconds.setdefault((domain, mode), {})
        second = seconds.get(now)
        if second is None:
            second = seconds[now] = _Second()
            for old in [t for t in seconds if t <= now - self.window_s]:
                del seconds[old]
        return second


def _observe(second: _Second, obs: Observation, *, timed_out: bool) -> None:
    if obs.path in second.samples:
        _count_path(second, obs.path, obs.duration_s, timed_out or is_fault(obs.error))


def _count_path(second: _Second, path: str, duration_s: float, fault: bool) -> None:
    second.samples[path] += 1
    second.errors[path] += fault
    second.hist[path][bisect.bisect_left(BUCKETS_MS, duration_s * 1000.0)] += 1


def _sum(seconds: Sequence[_Second], span_s: float) -> Figures:
    figures = Figures(span_s)
    hist = {path: [0] * (len(BUCKETS_MS) + 1) for path in PATHS}
    calls = comparisons = divergences = 0
    for s in seconds:
        calls, comparisons = calls + s.calls, comparisons + s.comparisons
        divergences += s.divergences
        for path in PATHS:
            figures.errors[path] += s.errors[path]
            figures.samples[path] += s.samples[path]
            hist[path] = [a + b for a, b in zip(hist[path], s.hist[path], strict=True)]
    figures.p99_ms.update({path: percentile(hist[path], 0.99) for path in PATHS})
    return replace(figures, calls=calls, comparisons=comparisons, divergences=divergences)
