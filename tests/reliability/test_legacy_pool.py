"""The legacy path with every connection and thread busy: callers wait within a bound or get a
clear ``DatabaseError``, and nothing deadlocks.

Two writes block on a row lock held by another connection, holding both of the legacy pool's
connections; twenty reads queue behind them in the router's four legacy threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from persistence.errors import DatabaseError

pytestmark = [pytest.mark.reliability]

ACQUIRE_TIMEOUT_S = 1.0
LOCK_HELD_S = 2.5


@pytest.fixture
async def router(seeded_database: str) -> AsyncIterator[Any]:
    """A router over both real paths, every domain on legacy: a pool of 2, 4 threads."""
    from app.operations import DOMAINS, build_registry
    from flags.environment import EnvironmentFlags
    from persistence.async_layer import AsyncPersistenceLayer
    from persistence.legacy import PersistenceLayer
    from routing.router import PersistenceRouter

    legacy = PersistenceLayer(seeded_database, pool_size=2, acquire_timeout=ACQUIRE_TIMEOUT_S)
    async_layer = AsyncPersistenceLayer(database_url=seeded_database, pool_size=2)
    routed = PersistenceRouter(
        build_registry(), legacy=legacy, async_=async_layer,
        flags=EnvironmentFlags("", DOMAINS), legacy_threads=4,
    )  # fmt: skip
    yield routed
    await routed.close()
    legacy.close()
    await async_layer.close()


async def timed(call: Any) -> tuple[str, float, str]:
    started = time.monotonic()
    try:
        await call
        return "ok", time.monotonic() - started, ""
    except DatabaseError as exc:
        return "DatabaseError", time.monotonic() - started, str(exc)


class TestLegacyExhausted:
    """Bounded waits, clear errors, and full service once the blockage clears."""

    async def test_bounded_and_no_deadlock(self, router: Any, seeded_database: str) -> None:
        players = await router.list_players(limit=5)
        locked = players[0].player_id
        holder = await asyncpg.connect(seeded_database)
        blocked = holder.transaction()
        await blocked.start()
        await holder.execute("SELECT 1 FROM players WHERE player_id = $1 FOR UPDATE", locked)
        try:
            writes = [asyncio.create_task(timed(router.update_player_last_active(locked)))
                      for _ in range(2)]  # fmt: skip
            await asyncio.sleep(0.3)
            reads = [asyncio.create_task(timed(router.get_player_by_id(p.player_id)))
                     for p in players * 4]  # fmt: skip
            await asyncio.sleep(LOCK_HELD_S)
        finally:
            await blocked.rollback()
            await holder.close()
        outcomes = await asyncio.wait_for(asyncio.gather(*writes, *reads), 30)
        bound = LOCK_HELD_S + 0.3 + ACQUIRE_TIMEOUT_S + 1.0
        assert all(kind in ("ok", "DatabaseError") for kind, _, _ in outcomes)
        assert max(seconds for _, seconds, _ in outcomes) < bound
        assert [kind for kind, _, _ in outcomes[:2]] == ["ok", "ok"]
        errors = [message for kind, _, message in outcomes if kind == "DatabaseError"]
        assert errors and all("legacy pool exhausted" in m for m in errors)
        assert await asyncio.wait_for(router.get_player_by_id(locked), 5) is not None
