"""Who may run a shadow, and when: slots, primaries first, and the write watch, as one.

* **slots**: at most ``max_shadows`` shadows at once; a call past that is not shadowed;
* **primaries first**: a primary write cancels the async shadows holding its entity's rows
  (``preemption``), and a shadow write does not start while a primary of its entity runs;
* **the write watch**: a read is compared only if no write of what it read landed while
  either side ran (``write_watch``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

from routing.shadowing.preemption import EntityKey, Preemption
from routing.shadowing.sides import Outcome, Unraced
from routing.shadowing.write_watch import Watched, WriteWatch

__all__ = ["Admission", "Slots"]


class Slots:
    """A count of shadows running, from any thread, that never waits: full means skip.

    Full slots shed whatever arrives, which would starve a quiet operation while busier ones
    hold every slot. So an operation that has had no shadow for ``fair_s`` gets one anyway,
    beyond the count, up to ``size`` more: every operation called is compared at least about
    once per ``fair_s``, however busy the others are.
    """

    def __init__(
        self, size: int, fair_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._free = size
        self._fair_s = fair_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, operation: str | None = None) -> bool:
        """Take a slot if one is free, or if ``operation`` has had none for ``fair_s``."""
        with self._lock:
            now = self._clock()
            if self._free <= 0:
                starved = operation is not None and now - self._last.get(operation, -1e18) >= (
                    self._fair_s
                )
                if not starved or self._free <= -self._size:
                    return False
            self._free -= 1
            if operation is not None:
                self._last[operation] = now
            return True

    def give_back(self, _done: object = None) -> None:
        """Return a slot (a done-callback of the shadow's future)."""
        with self._lock:
            self._free += 1


class Admission:
    """The runner's one interface to its slots, its preemption and its write watch."""

    def __init__(self, max_shadows: int) -> None:
        self.slots = Slots(max_shadows)
        self._preemption = Preemption()
        self._watch = WriteWatch()

    @contextlib.contextmanager
    def primary_write(self, touched: list[EntityKey]) -> Iterator[None]:
        """While a primary writes: reads of its entities are not compared, shadows give way."""
        self._watch.begin(touched)
        self._preemption.preempt(touched)
        try:
            yield
        finally:
            self._watch.end(touched)

    def unraced(self, watched: Watched) -> Unraced | None:
        """For a read starting now: asks, as each side ends, whether it was left alone."""
        if not watched:
            return None
        mark = self._watch.mark(watched)
        return lambda: self._watch.quiet(mark)

    async def preemptible(
        self, attempt: Callable[[], Awaitable[Outcome]], touched: list[EntityKey]
    ) -> Outcome:
        """Run a shadow write that a primary of ``touched`` may cancel (``preempted``)."""
        return await self._preemption.run(attempt, touched, lambda: self._watch.busy(touched))
