"""How late the event loop runs what is due: the guard's measure of a saturated process.

A call's latency on the async path is partly the event loop's: an asyncpg query needs several
turns of the loop, a legacy call in a pool thread one hop back. When the loop is saturated,
the ratio t_async / t_legacy measures the scheduler rather than the path, so the guard sets
aside the pairs timed while the loop lagged (docs/rollout.md, "A saturated event loop").

:class:`LoopLag` wakes every ``tick_s`` on the loop and notes how late it woke (the loop was
busy for that long before the wake-up) or, if longer, how long the loop's thread waited for a
CPU since the last wake-up (Linux's ``/proc/thread-self/schedstat``): a process starved of CPU
slows the path that needs the loop's turns most, without always making a wake-up late. The
lag of a call that took ``d`` seconds and ends now is the worst of the wake-ups during it (the
last ``d`` plus one tick), or the lateness of the wake-up still pending if that is worse: a
call that ends during a stall, before the monitor has run again, is still seen as lagged.
Safe to read from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["LoopLag"]


class LoopLag:
    """The event loop's lateness, sampled every ``tick_s``; :meth:`during` for a call ending now.

    Wake-ups older than ``keep_s`` are forgotten: a call longer than that is charged with the
    lateness of its last ``keep_s``.
    """

    def __init__(
        self,
        tick_s: float = 0.01,
        keep_s: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
        waited: Callable[[], float | None] | None = None,
    ) -> None:
        self.tick_s = tick_s
        self._waited = waited or runqueue_wait_s
        self.keep_s = keep_s
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque()  # (woke at, late by)
        self._lock = threading.Lock()
        self._due = float("inf")  # when the pending wake-up is due
        self._task: asyncio.Task[None] | None = None

    def during(self, duration_s: float) -> float:
        """The loop lag to charge a call that took ``duration_s`` and ends now, in seconds."""
        now = self._clock()
        since = now - duration_s - self.tick_s
        worst = max(now - self._due, 0.0)
        with self._lock:
            for woke, late in reversed(self._samples):
                if woke < since:
                    break
                worst = max(worst, late)
        return worst

    def note(self, woke_at: float, late_s: float) -> None:
        """One wake-up ``late_s`` late at ``woke_at``; forget those older than ``keep_s``."""
        with self._lock:
            samples = self._samples
            samples.append((woke_at, max(late_s, 0.0)))
            while samples[0][0] < woke_at - self.keep_s:
                samples.popleft()

    def start(self) -> None:
        """Sample the running loop until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        """Stop sampling; the lag reads 0 from then on."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with self._lock:
            self._samples.clear()
        self._due = float("inf")

    async def _run(self) -> None:
        clock, tick = self._clock, self.tick_s
        waited = self._waited()
        while True:
            self._due = clock() + tick
            await asyncio.sleep(tick)
            woke, now_waited = clock(), self._waited()
            starved = now_waited - waited if now_waited is not None and waited is not None else 0
            waited = now_waited
            self.note(woke, max(woke - self._due, starved))


def runqueue_wait_s() -> float | None:
    """Seconds this thread has spent runnable but waiting for a CPU, where Linux tells."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
