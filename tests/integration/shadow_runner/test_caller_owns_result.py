"""The caller owns what the primary returned: changing it is not a divergence.

The comparison runs in the background after the caller has its answer. A caller that moves
the player it just read, or changes it in memory, must not make the shadow's equal answer
look different.
"""

from __future__ import annotations

import asyncio

import pytest

from app.bootstrap import System
from persistence.seed import SeedSummary
from tests.integration.shadow_runner.conftest import set_mode

pytestmark = pytest.mark.integration


async def _settled_groups(system: System) -> list[object]:
    await system.shadow_runner.drain()
    await system.divergences.flush()
    return list(await system.divergences.groups())


def _change(player: object) -> None:
    player.current_room_id = "elsewhere"  # type: ignore[attr-defined]
    player.stats.fear = (player.stats.fear + 7) % 100  # type: ignore[attr-defined]


class TestCallerChangesTheResult:
    """Results are frozen for comparison before the caller gets them."""

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_async_caller(self, system: System, world: SeedSummary, mode: str) -> None:
        await set_mode(system, "shadow", ("player",))
        if mode == "live":
            await set_mode(system, "live", ("player",))
        before = system.shadow_runner.compared
        for player_id in world.player_ids[:5]:
            player = await system.router.get_player_by_id(player_id)
            assert player is not None
            room = player.current_room_id
            _change(player)
            for other in await system.router.get_players_in_room(room):
                other.name = "renamed"
        assert await _settled_groups(system) == []
        assert system.shadow_runner.compared - before >= 10

    async def test_sync_caller(self, system: System, world: SeedSummary) -> None:
        await set_mode(system, "shadow", ("player",))
        before = system.shadow_runner.compared

        def read_and_change() -> None:
            for player_id in world.player_ids[:5]:
                player = system.sync.get_player(player_id)
                assert player is not None
                _change(player)

        await asyncio.to_thread(read_and_change)
        assert await _settled_groups(system) == []
        assert system.shadow_runner.compared - before >= 5
