"""The shadow runner's blocking strategies, for the sync facade's callers.

``live``: the whole async dispatch runs on the router's background loop (the async primary
there, the legacy shadow in the router's thread pool) and the caller waits for its answer.
``shadow``: the legacy primary runs in the caller's own thread (inside a unit of work the
caller opened, if any, as legacy-only would); the shadow and the comparison are handed to the
background loop, and the caller waits for them only in test mode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from routing.dispatch import Route
from routing.shadowing.config import Args, bound, copies
from routing.shadowing.judge import snapshot
from routing.shadowing.transactions import Done, Probe, primary_write_legacy, timed_legacy

if TYPE_CHECKING:
    from collections import Counter

    from routing.loop_thread import LoopThread
    from routing.registry import Operation
    from routing.shadowing.config import RunnerConfig
    from routing.shadowing.judge import Observer
    from routing.shadowing.runner import WriteCall

__all__ = ["SyncServing"]

_clock = time.perf_counter


class SyncServing:
    """Mixed into ``ShadowRunner``: the strategies ``sync_dispatch`` returns."""

    if TYPE_CHECKING:
        config: RunnerConfig
        legacy: Any
        skipped: Counter[str]
        _loop_thread: LoopThread
        _observer: Observer
        _submitted: set[Future[None]]

        def _read(
            self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], mode: str, *,
            legacy_keys: bool,
        ) -> Awaitable[Any]: ...  # fmt: skip
        def _write(
            self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], mode: str, *,
            legacy_keys: bool,
        ) -> Awaitable[Any]: ...  # fmt: skip
        def _write_call(
            self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
        ) -> WriteCall: ...
        def _primary_window(self, touched: list[tuple[str, str | None]]) -> Any: ...
        def _shadow_write(self, call: WriteCall, primary: Done, mode: str) -> Awaitable[None]: ...
        def _probe(
            self, op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any], legacy_keys: bool
        ) -> Probe | None: ...
        def _start_shadow_read(
            self, route: Route, args: Args, mode: str, probe: Probe | None
        ) -> asyncio.Future[Done]: ...
        def _shadow_arguments(
            self, op: Operation, shadow: asyncio.Future[Done], args: tuple[Any, ...]
        ) -> asyncio.Future[Done]: ...
        def _with_arguments(self, op: Operation, done: Done, args: tuple[Any, ...]) -> Done: ...
        def _spawn(self, coro: Awaitable[None]) -> asyncio.Future[None]: ...

    def _serve_live_sync(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        serve = self._read if route.operation.kind == "read" else self._write
        return self._loop_thread.run(
            _coroutine(serve(route, args, kwargs, "live", legacy_keys=True))
        )

    def _serve_shadow_sync(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if route.operation.kind == "read":
            return self._shadow_read_sync(route, args, kwargs)
        call = self._write_call(route, args, kwargs, True)
        capture = call.plan.capture(call.keys, "psycopg2")
        with self._primary_window(call.touched):
            legacy = bound(route.legacy, call.args, call.kwargs)
            primary = primary_write_legacy(self.legacy, legacy, capture)
        if primary.skipped:
            self.skipped[primary.skipped] += 1
            return primary.result()
        compared = snapshot(primary)
        return self._answer_sync(
            primary, self._submit(self._shadow_write(call, compared, "shadow"))
        )

    def _shadow_read_sync(self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        op = route.operation
        probe = self._probe(op, args, kwargs, True)
        shadow_args, inputs = copies(op, args, kwargs)
        primary_done: Future[Done] = Future()
        remote = self._shadow_read_remote(route, shadow_args, primary_done, inputs, probe)
        compared = self._submit(remote)
        primary = timed_legacy(bound(route.legacy, args, kwargs), probe)
        primary_done.set_result(snapshot(self._with_arguments(op, primary, args)))
        return self._answer_sync(primary, compared)

    async def _shadow_read_remote(
        self,
        route: Route,
        args: Args,
        primary: Future[Done],
        inputs: Mapping[str, Any],
        probe: Probe | None,
    ) -> None:
        started = _clock()
        op = route.operation
        shadow = self._start_shadow_read(route, args, "shadow", probe)
        shadow = self._shadow_arguments(op, shadow, args[0])
        done = await asyncio.wrap_future(primary)
        await self._observer.compare(op, "shadow", done, shadow, started, inputs, self.skipped)

    def _submit(self, coro: Awaitable[None]) -> Future[None]:
        """Run ``coro`` on the background loop, tracked like the runner's own tasks."""

        async def tracked() -> None:
            await self._spawn(coro)

        future = self._loop_thread.submit(tracked())
        self._submitted.add(future)
        future.add_done_callback(self._submitted.discard)
        return future

    def _answer_sync(self, primary: Done, comparison: Future[None]) -> Any:
        if self.config.raise_on_divergence:
            comparison.result()
        return primary.result()


async def _coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
