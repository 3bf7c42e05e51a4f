"""Primaries come first: a write that starts cancels the shadows holding its entity's rows.

A shadow write restores the primary's starting rows inside its own transaction, so from then
until it rolls back it holds those rows. If a primary write of the same entity starts in the
meantime, it would wait for that shadow. Instead, ``Preemption.preempt`` cancels every async
shadow running on the entity (on whichever loop it runs): its transaction rolls back at
once, the primary waits at most for that rollback, and the shadow is counted as skipped
(``preempted``), never as a divergence.

Legacy shadows run in threads, which cannot be cancelled; their statements are bounded by
``statement_timeout`` instead (see ``routing.shadowing.transactions``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable

from routing.shadowing.config import Skip
from routing.shadowing.sides import Outcome

__all__ = ["Preemption"]

#: One entity a write touches: ``(kind, key)``.
EntityKey = tuple[str, str | None]
Running = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Outcome]"]


class Preemption:
    """The async shadows running per entity; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[EntityKey, set[Running]] = {}

    async def run(
        self,
        attempt: Callable[[], Awaitable[Outcome]],
        entities: Iterable[EntityKey],
        busy: Callable[[], bool],
    ) -> Outcome:
        """Run a shadow write that a primary of ``entities`` may cancel.

        It registers first and then asks ``busy()`` (is a primary of these entities in
        flight?): a primary that starts after the registration finds and cancels it, one
        that started before is seen by ``busy()``; either way the primary never waits on it.
        """
        keyed = [entity for entity in entities if entity[1] is not None]
        inner = asyncio.ensure_future(attempt())  # a task runs nothing before the next await
        entry = (asyncio.get_running_loop(), inner)
        self._add(keyed, entry)
        if busy():
            inner.cancel()
        try:
            return await inner
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if inner.cancelled() and task is not None and not task.cancelling():
                return Outcome(skipped=Skip.PREEMPTED)
            raise
        finally:
            self._remove(keyed, entry)

    def preempt(self, entities: Iterable[EntityKey]) -> None:
        """Cancel the shadows running on any of ``entities``."""
        with self._lock:
            found = [r for e in entities if e[1] is not None for r in self._running.get(e, ())]
        for loop, future in found:
            loop.call_soon_threadsafe(future.cancel)

    def _add(self, entities: list[EntityKey], entry: Running) -> None:
        with self._lock:
            for entity in entities:
                self._running.setdefault(entity, set()).add(entry)

    def _remove(self, entities: list[EntityKey], entry: Running) -> None:
        with self._lock:
            for entity in entities:
                running = self._running.get(entity)
                if running is not None:
                    running.discard(entry)
                    if not running:
                        del self._running[entity]
