"""One background event loop thread, for running async-path calls on behalf of sync callers.

The async path keeps one connection pool per event loop, so every sync call that goes to it
runs on this one loop and shares its pool. The thread starts on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import structlog

from observability import describe
from routing.errors import LoopClosedError

T = TypeVar("T")
STOP_TIMEOUT = 30.0


class LoopThread:
    """A lazily started daemon thread running one asyncio event loop forever."""

    def __init__(self, name: str = "dualpath-async-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pending: set[Future[Any]] = set()

    @property
    def started(self) -> bool:
        """True once the thread has been started (and until it is stopped)."""
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The background loop, if started."""
        return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the background loop and block until it finishes."""
        return self.submit(coroutine).result()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coroutine`` on the background loop, starting it if needed."""
        try:
            loop = self._loop or self._start()
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except BaseException:
            coroutine.close()
            raise
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def stop(self, before: Callable[[], Awaitable[object]] | None = None) -> None:
        """Run ``before()`` on the loop (errors logged), then stop and join the thread."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(_finish(before), loop).result(STOP_TIMEOUT)
        except TimeoutError:
            structlog.get_logger().warning("routing.loop_close_timed_out", seconds=STOP_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            self._fail_stragglers()

    def _fail_stragglers(self) -> None:
        """Calls scheduled while the loop was stopping would otherwise wait forever."""
        for future in list(self._pending):
            if not future.done() and future.set_running_or_notify_cancel():
                future.set_exception(LoopClosedError("the router was closed during the call"))

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise LoopClosedError("the router is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_serve, args=(loop,), name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


async def _finish(before: Callable[[], Awaitable[object]] | None) -> None:
    if before is not None:
        try:
            await before()
        except Exception as exc:
            structlog.get_logger().warning("routing.loop_close_failed", error=describe(exc))
    await _cancel_pending()
    await asyncio.get_running_loop().shutdown_asyncgens()


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
