"""Pools per event loop, closing them, and recovering from connections the server dropped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from persistence.async_layer import AsyncPersistenceLayer
from persistence.errors import DatabaseError
from tests.integration.async_path.conftest import PlayerFactory, run_sql

pytestmark = pytest.mark.integration

KILL_OURS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE application_name = 'dualpath-async' AND datname = current_database()"
)


@pytest.fixture
def other_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A second event loop, running in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


class TestPoolPerLoop:
    """One layer serves two running loops at once, each through a pool of its own."""

    async def test_two_loops_use_the_layer_at_the_same_time(
        self,
        layer: AsyncPersistenceLayer,
        make_player: PlayerFactory,
        other_loop: asyncio.AbstractEventLoop,
    ) -> None:
        player = await make_player(max_health=1000, current_health=1000)

        async def hits(count: int) -> None:
            await asyncio.gather(
                *(layer.update_player_health(player.player_id, -1) for _ in range(count))
            )

        there = asyncio.run_coroutine_threadsafe(hits(100), other_loop)
        await hits(100)
        await asyncio.wrap_future(there)
        fresh = await layer.get_player_by_id(player.player_id)
        assert fresh is not None and fresh.stats.current_health == 800
        pools = layer.database._pools
        assert set(pools) == {asyncio.get_running_loop(), other_loop}

    async def test_close_closes_the_pools_of_every_running_loop(
        self,
        layer: AsyncPersistenceLayer,
        make_player: PlayerFactory,
        other_loop: asyncio.AbstractEventLoop,
    ) -> None:
        player = await make_player()
        there = asyncio.run_coroutine_threadsafe(
            layer.get_player_by_id(player.player_id), other_loop
        )
        await asyncio.wrap_future(there)
        await layer.get_player_by_id(player.player_id)
        pools = list(layer.database._pools.values())
        await layer.close()
        assert len(pools) == 2 and all(pool._closed for pool in pools)
        assert layer.database._pools == {}

    async def test_a_closed_layer_reopens_on_the_next_call(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        player = await make_player()
        await layer.start()
        await layer.close()
        assert await layer.get_player_by_id(player.player_id) == await layer.get_player_by_id(
            player.player_id
        )

    async def test_pools_of_closed_loops_are_forgotten(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        player = await make_player()

        def use_in_a_loop_of_its_own() -> None:
            async def use() -> None:
                await layer.get_player_by_id(player.player_id)
                await (await layer.database.pool()).close()

            asyncio.run(use())

        await asyncio.to_thread(use_in_a_loop_of_its_own)
        await layer.get_player_by_id(player.player_id)
        assert all(not loop.is_closed() for loop in layer.database._pools)


class TestRecovery:
    """Connections killed by the server surface as DatabaseError at most once, then heal."""

    async def test_calls_after_the_server_kills_idle_connections_succeed(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        await asyncio.gather(*(layer.get_player_by_id(player.player_id) for _ in range(12)))
        assert run_sql(world, KILL_OURS)
        outcomes = []
        for _ in range(8):
            try:
                outcomes.append(await layer.damage_player(player, 1) is not None)
            except DatabaseError:
                outcomes.append(False)
        assert all(outcomes[1:]), outcomes  # at most the first call meets a dead connection

    async def test_a_killed_unit_of_work_raises_database_error_and_the_next_call_succeeds(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        with pytest.raises(DatabaseError) as raised:
            async with layer.transaction():
                await layer.damage_player(player, 5)
                run_sql(world, KILL_OURS)
                await layer.damage_player(player, 5)
        assert raised.value.__cause__ is not None
        assert await layer.damage_player(player, 1) == 99
