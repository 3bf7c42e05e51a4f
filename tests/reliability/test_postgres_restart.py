"""PostgreSQL restarted in the middle of a traffic run, on an embedded server of the test's own.

Never the machine's shared PostgreSQL: other tests use it at the same time. Writes go through
both paths (items on ``async``, containers on ``legacy``) with an independent tally of every
write that was acknowledged. During the outage callers get ``DatabaseError`` within their
timeout; within 5 s of the server's return both paths write again; afterwards every
acknowledged write is in the database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from persistence.errors import DatabaseError
from tests.reliability.conftest import MEASURED, settings_for
from tests.reliability.embedded import EmbeddedPostgres

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

CALL_TIMEOUT_S = 10.0
DOWN_FOR_S = 3.0
RECOVER_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedPostgres]:
    """A migrated, seeded embedded PostgreSQL, removed at the end."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    server = EmbeddedPostgres()
    try:
        upgrade(server.url)
        seed_world(server.url, players=10, seed=5)
        yield server
    finally:
        server.remove()


@pytest.fixture
async def system(embedded: EmbeddedPostgres) -> AsyncIterator[Any]:
    from app.bootstrap import open_system

    async with open_system(settings_for(embedded.url, guard_enabled=False)) as opened:
        await opened.flags.set("item", "async", reason="restart test", actor="t", forced=True)
        yield opened


class Writer:
    """Writes one kind of row again and again, tallying what was acknowledged."""

    def __init__(self, name: str, write: Any) -> None:
        self.name, self._write = name, write
        self.acknowledged: list[str] = []
        self.errors: dict[str, int] = {}
        self.slowest_s = 0.0
        self.last_ok = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    self.acknowledged.append(await self._write())
                self.last_ok = time.monotonic()
            except DatabaseError as exc:
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                await asyncio.sleep(0.05)
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)


async def present(url: str, table: str, column: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column}::text = ANY($1::text[])", ids
        )
    finally:
        await conn.close()
    return int(found)


class TestRestart:
    """Clear errors during the outage, recovery within 5 s, no acknowledged write lost."""

    async def test_restart_under_traffic(self, system: Any, embedded: EmbeddedPostgres) -> None:
        room = (await system.router.list_rooms())[0].room_id
        prototype = await first_prototype(embedded.url)

        async def item() -> str:
            item_id = f"restart-{uuid.uuid4()}"
            await system.router.create_item_instance(item_id, prototype)
            return item_id

        async def container() -> str:
            made = await system.router.create_container("environment", room_id=room)
            return str(made.container_id)

        writers = [Writer("async", item), Writer("legacy", container)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in writers]
        try:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(embedded.stop)
            await asyncio.sleep(DOWN_FOR_S)
            await asyncio.to_thread(embedded.start)
            back = time.monotonic()
            for writer in writers:
                while writer.last_ok < back:
                    assert time.monotonic() - back < RECOVER_WITHIN_S, writer.name
                    await asyncio.sleep(0.05)
            recovered = {w.name: round(w.last_ok - back, 3) for w in writers}
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        MEASURED.append(f"postgres restart: back to writing after {recovered} s")
        for writer in writers:
            assert writer.errors and set(writer.errors) <= {"DatabaseError"}, writer.errors
            assert writer.slowest_s < CALL_TIMEOUT_S
        items, containers = (w.acknowledged for w in writers)
        assert await present(embedded.url, "item_instances", "item_instance_id", items) == len(
            items
        )
        assert await present(embedded.url, "containers", "container_id", containers) == len(
            containers
        )


async def first_prototype(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SELECT prototype_id FROM item_prototypes LIMIT 1"))
    finally:
        await conn.close()
