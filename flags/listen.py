"""Follow a PostgreSQL table by LISTEN/NOTIFY, for the providers that keep their state there.

A :class:`ChannelFollower` keeps one connection of its own listening on a channel and reloads
when a notification arrives, when that connection drops, and every ``reload_interval``
seconds (which covers a lost notification). A failed or dropped connection is reopened after
a backoff that starts at 0.1 s and doubles up to ``max_backoff``. The outage is logged once
when it starts and once when it ends (``flags.provider_unavailable`` and
``flags.provider_recovered``), never per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import asyncpg

from observability import Outage

__all__ = ["ChannelFollower"]

Loaded = TypeVar("Loaded")

FIRST_BACKOFF = 0.1


class ChannelFollower(Generic[Loaded]):
    """Follows one NOTIFY channel in a background task: ``load`` on each wake-up, then ``apply``.

    ``load`` reads on the listening connection and may fail (the follower reconnects);
    ``apply`` gets what ``load`` returned, once the success has been recorded. ``provider``
    names the source in the outage events and the task (``flags.<provider>.follow``).
    """

    def __init__(
        self,
        database_url: str,
        *,
        channel: str,
        application_name: str,
        provider: str,
        load: Callable[[asyncpg.Connection], Awaitable[Loaded]],
        apply: Callable[[Loaded], None],
        reload_interval: float,
        max_backoff: float,
        timeout: float,
    ) -> None:
        self._url = database_url
        self._channel = channel
        self._application_name = application_name
        self._provider = provider
        self._load = load
        self._apply = apply
        self._outage = Outage("flags.provider", provider=provider)
        self._reload_interval = reload_interval
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._backoff = FIRST_BACKOFF
        self._wake = asyncio.Event()
        self._attempted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        """False while the listening connection is down."""
        return not self._outage.down

    async def start(self) -> None:
        """Begin following; wait until the first load was tried (``timeout`` + 1 s at most)."""
        if self._task is None:
            name = f"flags.{self._provider}.follow"
            self._task = asyncio.create_task(self._follow(), name=name)
        await _wait(self._attempted, self._timeout + 1)

    async def close(self) -> None:
        """Stop following and close the listening connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        while True:
            try:
                await self._listen()
            except Exception as exc:  # never let the follower die: log once, retry
                self._outage.failed(exc)
            self._attempted.set()
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, self._max_backoff)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(
            self._url,
            timeout=self._timeout,
            server_settings={"application_name": self._application_name},
        )
        try:
            conn.add_termination_listener(lambda _conn: self._wake.set())
            await conn.add_listener(self._channel, self._on_notify)
            self._backoff = FIRST_BACKOFF
            while True:
                await self._reload(conn)
                await _wait(self._wake, self._reload_interval)
        finally:
            conn.terminate()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, _payload: object) -> None:
        self._wake.set()

    async def _reload(self, conn: asyncpg.Connection) -> None:
        self._wake.clear()
        loaded = await self._load(conn)
        self._outage.succeeded()
        self._attempted.set()
        self._apply(loaded)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait for ``event`` at most ``seconds``; unlike 3.11's wait_for, never eats a cancel."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
