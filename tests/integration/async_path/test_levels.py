"""The level the async path stores beside XP equals ``rules.level_for_xp``."""

from __future__ import annotations

import pytest

from persistence import rules
from persistence.async_layer import AsyncPersistenceLayer
from persistence.errors import ValidationError
from persistence.events import PlayerLeveledUp, XPGained
from tests.integration.async_path.conftest import EventLog, PlayerFactory, run_sql

pytestmark = pytest.mark.integration

BOUNDARIES = [0, 99, 100, 399, 400, 899, 900, 1599, 1600, 10_000, 999_999, 123_456_789]
SQUARES = [100 * n * n + d for n in (10, 100, 1000, 4633, 4634) for d in (-1, 0)]


def stored(url: str, player_id: object) -> tuple[object, ...]:
    rows = run_sql(
        url,
        "SELECT experience_points, level FROM players WHERE player_id = %s",
        (str(player_id),),
    )
    return rows[0]


class TestLevelFollowsXP:
    """Level = 1 + isqrt(xp // 100), computed in SQL in the same statement as the XP."""

    @pytest.mark.parametrize("xp", [*BOUNDARIES, *SQUARES, 2**31 - 1])
    async def test_stored_level_matches_the_rule(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str, xp: int
    ) -> None:
        player = await make_player()
        assert await layer.update_player_xp(player.player_id, xp, "set") == xp
        assert stored(world, player.player_id) == (xp, rules.level_for_xp(xp))

    async def test_crossing_100_levels_up_the_player_object(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory
    ) -> None:
        log.watch(XPGained, PlayerLeveledUp)
        player = await make_player()
        await layer.gain_experience(player, 99, "quest")
        assert (player.experience_points, player.level) == (99, 1)
        await layer.gain_experience(player, 1, "quest")
        assert (player.experience_points, player.level) == (100, 2)
        assert log.events[-1] == PlayerLeveledUp(player.player_id, 1, 2)

    async def test_xp_never_goes_below_zero(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        await layer.update_player_xp(player.player_id, 450)
        assert await layer.update_player_xp(player.player_id, -(10**12)) == 0
        assert stored(world, player.player_id) == (0, 1)

    async def test_xp_beyond_the_column_is_refused_and_nothing_changes(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        await layer.update_player_xp(player.player_id, 900)
        with pytest.raises(ValidationError):
            await layer.update_player_xp(player.player_id, 10**20)
        assert stored(world, player.player_id) == (900, 4)
