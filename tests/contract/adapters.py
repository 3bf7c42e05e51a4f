"""One awaitable call style over both paths, so that one suite runs against each.

``await path.call("get_player_by_id", pid)`` awaits the async method, or runs the legacy one
(named through ``LEGACY_NAMES``) off the event loop. ``async with path.transaction() as uow``
opens a unit of work on either; ``await uow.commit()`` / ``await uow.rollback()`` end it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Protocol

from app.operations import LEGACY_NAMES
from persistence.events import (
    EventBus,
    HPChanged,
    PlayerDied,
    PlayerLeveledUp,
    PlayerMortallyWounded,
    StatChanged,
    XPGained,
)

EVENT_TYPES = (HPChanged, PlayerMortallyWounded, PlayerDied, XPGained, PlayerLeveledUp, StatChanged)


def recording_bus() -> tuple[EventBus, list[object]]:
    """An EventBus and the list every published event lands in, in publishing order."""
    bus, published = EventBus(), []
    for event_type in EVENT_TYPES:
        bus.subscribe(event_type, published.append)
    return bus, published


class UnitOfWorkUnderTest(Protocol):
    """A unit of work, awaited the same way on both paths."""

    @property
    def events(self) -> list[object]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class PathUnderTest(Protocol):
    """A persistence path behind one awaitable call style."""

    name: str
    published: list[object]

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any: ...
    async def concurrently(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]: ...
    def transaction(self) -> Any: ...
    async def close(self) -> None: ...


class _AsyncUnitOfWork:
    def __init__(self, uow: Any) -> None:
        self._uow = uow

    @property
    def events(self) -> list[object]:
        return list(self._uow.events)

    async def commit(self) -> None:
        await self._uow.commit()

    async def rollback(self) -> None:
        await self._uow.rollback()


class AsyncPath:
    """``AsyncPersistenceLayer``, awaited directly."""

    name = "async"

    def __init__(self, layer: Any, published: list[object]) -> None:
        self.layer, self.published = layer, published

    @classmethod
    async def open(cls, database_url: str) -> AsyncPath:
        """Start a layer on ``database_url`` with a recording bus of its own."""
        from persistence.async_layer import AsyncPersistenceLayer

        bus, published = recording_bus()
        layer = AsyncPersistenceLayer(bus, database_url=database_url, pool_size=4)
        await layer.start()
        return cls(layer, published)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Await ``method`` on the layer."""
        return await getattr(self.layer, method)(*args, **kwargs)

    async def concurrently(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        """Run every call of ``method`` at once, as separate tasks."""
        return list(await asyncio.gather(*(self.call(method, *args) for args in calls)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWorkUnderTest]:
        """The layer's unit of work."""
        async with self.layer.transaction() as uow:
            yield _AsyncUnitOfWork(uow)

    async def close(self) -> None:
        """Close the layer."""
        await self.layer.close()


class _LegacyUnitOfWork:
    def __init__(self, uow: Any, run: Callable[..., Any]) -> None:
        self._uow, self._run = uow, run

    @property
    def events(self) -> list[object]:
        return list(self._uow.events)

    async def commit(self) -> None:
        await self._run(self._uow.commit)

    async def rollback(self) -> None:
        await self._run(self._uow.rollback)


class LegacyPath:
    """``PersistenceLayer``, each call run in a worker thread like ``asyncio.to_thread``.

    Unlike ``to_thread``, every call runs in the same thread and the same ``contextvars``
    context: a unit of work opened by one call must be visible to the next, whether the layer
    tracks it per thread or per context.
    """

    name = "legacy"

    def __init__(self, layer: Any, published: list[object]) -> None:
        self.layer, self.published = layer, published
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="legacy-path")
        self._context = contextvars.copy_context()

    @classmethod
    async def open(cls, database_url: str) -> LegacyPath:
        """Build a layer on ``database_url`` (in a worker thread) with a recording bus."""
        from persistence.legacy import PersistenceLayer

        bus, published = recording_bus()
        path = cls(None, published)
        path.layer = await path._run(PersistenceLayer, database_url, event_bus=bus, pool_size=4)
        return path

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(self._context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run the legacy name of ``method`` in the worker thread."""
        return await self._run(
            getattr(self.layer, LEGACY_NAMES.get(method, method)), *args, **kwargs
        )

    async def concurrently(self, method: str, calls: list[tuple[Any, ...]]) -> list[Any]:
        """Run every call of ``method`` at once, each in a thread of its own."""
        fn = getattr(self.layer, LEGACY_NAMES.get(method, method))
        return list(await asyncio.gather(*(asyncio.to_thread(fn, *args) for args in calls)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWorkUnderTest]:
        """The layer's sync unit of work, entered and left in the worker thread."""
        manager = await self._run(self.layer.transaction)
        uow = await self._run(manager.__enter__)
        try:
            yield _LegacyUnitOfWork(uow, self._run)
        except BaseException as exc:
            if not await self._run(manager.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await self._run(manager.__exit__, None, None, None)

    async def close(self) -> None:
        """Close the layer and stop the worker thread."""
        try:
            if self.layer is not None:
                await self._run(self.layer.close)
        finally:
            self._thread.shutdown(wait=True)


PATHS: dict[str, Any] = {"legacy": LegacyPath, "async": AsyncPath}


async def open_path(name: str, database_url: str) -> PathUnderTest:
    """Open the path called ``name`` on ``database_url``."""
    path: PathUnderTest = await PATHS[name].open(database_url)
    return path
