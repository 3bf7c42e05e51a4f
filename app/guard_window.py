"""The guard's live figures: each call's paired durations and faults, per domain and mode.

Fed from this process only, on the calling thread, so an add is one tuple appended under one
lock, with the event loop's lag as the call ended (:mod:`app.loop_lag`). A (domain, mode)
keeps at most ``per_second`` calls of each wall-clock second (the first ones; later calls of a
busy second are counted as ``skipped``) and forgets calls older than ``window_s``, so memory
and the cost of a look stay bounded. The calls kept are also queued for the record
(:mod:`app.guard_record`), which is how replay sees exactly what the live guard judged.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.guard_rules import Call
from flags.model import Mode
from shadow.errors import ErrorMeanings
from shadow.observation import SHADOW_ERROR, SHADOW_TIMEOUT, Result

SHADOW_FAULTS = frozenset({SHADOW_TIMEOUT, SHADOW_ERROR})

__all__ = ["PATHS", "Call", "CallWindow", "is_fault"]

PATHS = ("legacy", "async")
#: No declared refusals: every error is a fault.
NO_MEANINGS = ErrorMeanings()
Key = tuple[str, Mode]


def is_fault(error: BaseException | None, errors: ErrorMeanings = NO_MEANINGS) -> bool:
    """True for a failure of the path, False for none or for a declared refusal."""
    return errors.is_fault(error)


def call_of(result: Result, at: float, errors: ErrorMeanings = NO_MEANINGS) -> Call:
    """The guard's figures of one shadowed call.

    A shadow that timed out or failed is its own path's fault and no comparison: it says
    nothing about whether the paths agree (in ``live`` the shadow is legacy, whose slowness
    must not roll the async path back). This is how the shadow's health (``shadow.coverage``)
    reaches the guard: as the errors of the shadow's path.
    """
    timed_out = result.kind == SHADOW_TIMEOUT
    shadow_fault = result.kind in SHADOW_FAULTS
    diverged = result.mismatched and not shadow_fault
    first, second = result.primary, result.shadow
    legacy, new = (first, second) if first.path == "legacy" else (second, first)
    shadow_is_new = second is new
    return Call(
        at,
        legacy.duration_s,
        new.duration_s,
        errors.is_fault(legacy.error) or (timed_out and not shadow_is_new),
        errors.is_fault(new.error) or (timed_out and shadow_is_new),
        not shadow_fault,
        diverged,
    )


@dataclass
class _Calls:
    calls: deque[Call]
    second: int = -1
    in_second: int = 0
    skipped: int = 0
    unrecorded: list[Call] = field(default_factory=list)


class CallWindow:
    """Per (domain, mode), the calls of the last ``window_s`` seconds; thread-safe."""

    def __init__(
        self,
        window_s: float,
        per_second: int = 500,
        clock: Callable[[], float] = time.time,
        record: bool = False,
        errors: ErrorMeanings = NO_MEANINGS,
        lag: Callable[[float], float] = lambda _duration_s: 0.0,
    ) -> None:
        self.window_s = window_s
        self.errors = errors
        self._lag = lag
        self.per_second = per_second
        self._clock = clock
        self._record = record
        self._lock = threading.Lock()
        self._keys: dict[Key, _Calls] = {}

    def add_result(self, result: Result) -> None:
        """Count one shadowed call (the engine's listener)."""
        with self._lock:
            now = self._clock()
            call = call_of(result, now, self.errors)
            call = call._replace(loop_lag_s=self._lag(call.legacy_s + call.async_s))
            self._add((result.domain, result.mode), call, now)

    def add_call(self, domain: str, mode: Mode, duration_s: float, fault: bool) -> None:
        """Count one call served by the async path alone (``async`` mode)."""
        with self._lock:
            now = self._clock()
            call = Call(now, 0.0, duration_s, False, fault, False, False, self._lag(duration_s))
            self._add((domain, mode), call, now)

    def _add(self, key: Key, call: Call, now: float) -> None:
        kept = self._keys.get(key)
        if kept is None:
            size = int(self.per_second * (self.window_s + 2))
            kept = self._keys[key] = _Calls(deque(maxlen=size))
        second = int(now)
        if second != kept.second:
            kept.second, kept.in_second = second, 0
        if kept.in_second >= self.per_second:
            kept.skipped += 1
            return
        kept.in_second += 1
        kept.calls.append(call)
        if self._record and len(kept.unrecorded) < 10 * kept.calls.maxlen:  # type: ignore[operator]
            kept.unrecorded.append(call)

    def calls(self, domain: str, mode: Mode, now: float) -> list[Call]:
        """The calls kept of ``domain`` in ``mode`` up to ``now``, oldest first."""
        with self._lock:
            kept = self._keys.get((domain, mode))
            if kept is None:
                return []
            since = now - self.window_s
            while kept.calls and kept.calls[0].at <= since:
                kept.calls.popleft()
            return [c for c in kept.calls if c.at <= now]

    def skipped(self, domain: str, mode: Mode) -> int:
        """Calls not kept because their second already held ``per_second``."""
        kept = self._keys.get((domain, mode))
        return kept.skipped if kept is not None else 0

    def unrecorded(self, now: float) -> dict[Key, list[Call]]:
        """The calls kept up to ``now`` and not yet handed to the record; hands them over."""
        with self._lock:
            found: dict[Key, list[Call]] = {}
            for key, kept in self._keys.items():
                ready = [c for c in kept.unrecorded if c.at <= now]
                if ready:
                    kept.unrecorded = [c for c in kept.unrecorded if c.at > now]
                    found[key] = ready
            return found

    def reset(self, domain: str, mode: Mode, now: float) -> None:
        """Forget what ``domain`` did in ``mode`` up to ``now`` (after a rollback out of it)."""
        with self._lock:
            kept = self._keys.get((domain, mode))
            if kept is not None:
                while kept.calls and kept.calls[0].at <= now:
                    kept.calls.popleft()
