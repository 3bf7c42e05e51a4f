"""The legacy path's atomic health, XP and stat statements: clamps and levels computed in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from persistence.errors import NotFoundError, ValidationError
from persistence.events import (
    HPChanged,
    PlayerDied,
    PlayerLeveledUp,
    PlayerMortallyWounded,
    StatChanged,
    XPGained,
)
from persistence.legacy import PersistenceLayer
from persistence.models import Player, Stats
from persistence.rules import level_for_xp
from tests.integration.legacy.conftest import EventLog

pytestmark = pytest.mark.integration

MakePlayer = Callable[..., Player]
ALL_EVENTS = (HPChanged, PlayerDied, PlayerMortallyWounded, XPGained, PlayerLeveledUp, StatChanged)


@pytest.fixture
def player(make_player: MakePlayer, log: EventLog) -> Player:
    log.watch(*ALL_EVENTS)
    return make_player(stats=Stats(current_health=20, max_health=50))


class TestHealth:
    """HP is clamped to [-10, max] in SQL, and the player object follows the stored value."""

    def test_heal_stops_at_max_health(self, layer: PersistenceLayer, player: Player) -> None:
        assert layer.heal_player(player, 1000) == 50
        assert player.stats.current_health == 50

    def test_huge_damage_stops_at_dead(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        assert layer.damage_player(player, 10**30, "fire") == -10
        assert log.events == [
            HPChanged(player.player_id, 20, -10, 50, -30, "fire", "damage"),
            PlayerDied(player.player_id, -10, "fire"),
        ]

    def test_falling_to_zero_is_mortal(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        assert layer.update_player_health(player.player_id, -20, "trap") == 0
        assert log.events[1] == PlayerMortallyWounded(player.player_id, 0)

    def test_no_change_publishes_nothing(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        assert layer.damage_player(player, 0) == 20
        assert log.events == []

    @pytest.mark.parametrize("amount", [-1, 1.5, "3", True, None])
    def test_bad_amounts_are_rejected(
        self, layer: PersistenceLayer, player: Player, amount: object
    ) -> None:
        with pytest.raises(ValidationError):
            layer.damage_player(player, amount)  # type: ignore[arg-type]
        assert layer.get_player(player.player_id).stats.current_health == 20  # type: ignore[union-attr]

    def test_a_missing_player_is_not_found(self, layer: PersistenceLayer) -> None:
        with pytest.raises(NotFoundError):
            layer.update_player_health(uuid.uuid4(), -1)


class TestExperience:
    """XP never goes below 0, and the level SQL stores matches rules.level_for_xp."""

    @pytest.mark.parametrize(
        "xp", [0, 1, 99, 100, 101, 399, 400, 899, 900, 9999, 10_000, 998_999, 2_147_483_647]
    )
    def test_stored_level_matches_the_rule(
        self, layer: PersistenceLayer, player: Player, xp: int
    ) -> None:
        assert layer.update_player_xp(player.player_id, xp) == xp
        stored = layer.get_player(player.player_id)
        assert stored is not None and stored.level == level_for_xp(xp)

    def test_gain_updates_the_player_and_levels_up(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        assert layer.gain_experience(player, 400, "quest") == 400
        assert (player.experience_points, player.level) == (400, 3)
        assert log.events == [
            XPGained(player.player_id, 400, 400, 3, "quest"),
            PlayerLeveledUp(player.player_id, 1, 3),
        ]

    def test_xp_never_goes_below_zero(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        layer.update_player_xp(player.player_id, 150)
        assert layer.update_player_xp(player.player_id, -10_000, "curse") == 0
        assert log.events[-2:] == [
            XPGained(player.player_id, -150, 0, 1, "curse"),
            PlayerLeveledUp(player.player_id, 2, 1),
        ]

    def test_overflowing_xp_is_rejected_and_nothing_is_written(
        self, layer: PersistenceLayer, player: Player
    ) -> None:
        layer.update_player_xp(player.player_id, 2_147_483_000)
        with pytest.raises(ValidationError):
            layer.update_player_xp(player.player_id, 10_000)
        assert layer.get_player(player.player_id).experience_points == 2_147_483_000  # type: ignore[union-attr]


class TestStats:
    """Only whitelisted stats change, clamped to their bounds."""

    def test_a_stat_is_clamped(
        self, layer: PersistenceLayer, player: Player, log: EventLog
    ) -> None:
        assert layer.update_player_stat_field(player.player_id, "sanity", -500, "horror") == 0
        assert layer.update_player_stat_field(player.player_id, "strength", -500) == 1
        assert layer.update_player_stat_field(player.player_id, "fear", 10**20) == 100
        assert log.events[0] == StatChanged(player.player_id, "sanity", 100, 0, "horror")

    @pytest.mark.parametrize(
        "field_name",
        [
            "current_health",
            "max_health",
            "position",
            "strength'}', '1'); DROP TABLE players; --",
            "",
        ],
    )
    def test_other_fields_are_rejected(
        self, layer: PersistenceLayer, player: Player, field_name: str
    ) -> None:
        with pytest.raises(ValidationError, match="unknown stat field"):
            layer.update_player_stat_field(player.player_id, field_name, 1)
        assert layer.get_player(player.player_id) is not None
