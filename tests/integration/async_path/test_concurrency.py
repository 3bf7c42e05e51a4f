"""Concurrent writes on the async path: atomic single statements lose no update."""

from __future__ import annotations

import asyncio

import pytest

from persistence.async_layer import AsyncPersistenceLayer
from persistence.events import HPChanged, PlayerLeveledUp, XPGained
from tests.integration.async_path.conftest import EventLog, PlayerFactory, run_sql

pytestmark = pytest.mark.integration


class TestConcurrentWrites:
    """Many writers on one row through a small pool: every change lands exactly once."""

    async def test_200_concurrent_one_hp_hits_remove_exactly_200_hp(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged)
        player = await make_player(max_health=1000, current_health=1000)
        await asyncio.gather(*(layer.damage_player(player, 1, "combat") for _ in range(200)))
        fresh = await layer.get_player_by_id(player.player_id)
        assert fresh is not None and fresh.stats.current_health == 800
        hits = [e for e in log.events if isinstance(e, HPChanged)]
        assert len(hits) == 200 and {e.delta for e in hits} == {-1}
        assert sorted(e.new_hp for e in hits) == list(range(800, 1000))

    async def test_concurrent_xp_gains_all_count_and_level_up_once(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(XPGained, PlayerLeveledUp)
        player = await make_player()
        await asyncio.gather(*(layer.gain_experience(player, 1, "quest") for _ in range(150)))
        rows = run_sql(
            world,
            "SELECT experience_points, level FROM players WHERE player_id = %s",
            (str(player.player_id),),
        )
        assert rows == [(150, 2)]
        assert sum(isinstance(e, XPGained) for e in log.events) == 150
        assert [e for e in log.events if isinstance(e, PlayerLeveledUp)] == [
            PlayerLeveledUp(player.player_id, 1, 2)
        ]

    async def test_mixed_damage_and_healing_net_out(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory
    ) -> None:
        player = await make_player(max_health=500, current_health=250)
        calls = [layer.damage_player(player, 2) for _ in range(60)]
        calls += [layer.heal_player(player, 1) for _ in range(60)]
        await asyncio.gather(*calls)
        fresh = await layer.get_player_by_id(player.player_id)
        assert fresh is not None and fresh.stats.current_health == 250 - 60
