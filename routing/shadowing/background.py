"""The comparisons still running after the caller was answered, on whichever loop they run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Any

from routing.loop_thread import LoopThread
from routing.shadowing.sides import Outcome

__all__ = ["Background"]


class Background:
    """Tracks the runner's background tasks, and makes the caller wait for them in test mode."""

    def __init__(self, loop_thread: LoopThread, wait_for_comparison: bool) -> None:
        self._loop_thread = loop_thread
        self._wait = wait_for_comparison
        self._tasks: dict[asyncio.AbstractEventLoop, set[asyncio.Future[Any]]] = {}
        self._submitted: set[Future[None]] = set()

    def spawn(self, coro: Awaitable[None]) -> asyncio.Future[None]:
        """Run ``coro`` as a task of the running loop, held until it is done."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(coro)
        tasks = self._tasks.setdefault(loop, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    def submit(self, coro: Awaitable[None]) -> Future[None]:
        """Run ``coro`` on the router's background loop, tracked like a spawned task."""

        async def tracked() -> None:
            await self.spawn(coro)

        future = self._loop_thread.submit(tracked())
        self._submitted.add(future)
        future.add_done_callback(self._submitted.discard)
        return future

    async def answer(self, primary: Outcome, comparison: asyncio.Future[None]) -> Any:
        """The caller's answer: the primary's value or error (after the comparison in test mode)."""
        if self._wait:
            await comparison
        return primary.result()

    def answer_sync(self, primary: Outcome, comparison: Future[None]) -> Any:
        """``answer`` for a blocking caller."""
        if self._wait:
            comparison.result()
        return primary.result()

    async def drain(self, max_wait_s: float) -> None:
        """Wait for every comparison still running (on every loop), up to ``max_wait_s``."""
        waits: list[asyncio.Future[None]] = [asyncio.wrap_future(f) for f in list(self._submitted)]
        for loop in list(self._tasks):
            if loop is asyncio.get_running_loop():
                waits.append(asyncio.ensure_future(self._drain_here()))
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._drain_here(), loop)
                waits.append(asyncio.wrap_future(future))
        if waits:
            await asyncio.wait(waits, timeout=max_wait_s)

    async def cancel_rest(self) -> int:
        """Cancel the comparisons still running on this loop and wait for them to end.

        A cancelled shadow rolls its transaction back as it ends (its unit of work does).
        Returns how many were cancelled.
        """
        pending = [t for t in self._tasks.get(asyncio.get_running_loop(), ()) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        return len(pending)

    async def _drain_here(self) -> None:
        while pending := self._tasks.get(asyncio.get_running_loop()):
            await asyncio.wait(list(pending))
