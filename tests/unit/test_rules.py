"""The shared game rules and input validation, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from persistence import rules
from persistence.errors import ValidationError
from persistence.events import (
    HPChanged,
    PlayerDied,
    PlayerLeveledUp,
    PlayerMortallyWounded,
    StatChanged,
    XPGained,
)
from persistence.models import Player, Room, RoomCache, Stats

pytestmark = pytest.mark.unit

PID = UUID("00000000-0000-4000-8000-000000000001")
NOT_INTS: list[Any] = [True, False, 1.0, 2.5, "3", "ten", None, [1], {"a": 1}]
INJECTIONS = [
    "strength'; DROP TABLE players; --",
    'strength"',
    "stats->>'strength'",
    "current_health",
    "max_health",
    "position",
    "Strength",
    " strength",
    "",
]


def _player(**changes: Any) -> Player:
    player = Player(player_id=PID, user_id=uuid4(), name="Wilbur", current_room_id="arkham_000")
    for key, value in changes.items():
        setattr(player, key, value)
    return player


class TestHealthEvents:
    """HPChanged when HP moved; then dying when crossing into [-9, 0], or death at -10."""

    def test_no_event_when_unchanged(self) -> None:
        assert rules.health_events(PID, 40, 40, 100, "fire", "damage") == []

    def test_plain_change(self) -> None:
        assert rules.health_events(PID, 40, 25, 100, "fire", "damage") == [
            HPChanged(PID, 40, 25, 100, -15, "fire", "damage")
        ]

    @pytest.mark.parametrize("new", [0, -1, -9])
    def test_mortally_wounded(self, new: int) -> None:
        events = rules.health_events(PID, 5, new, 100, "claw", "damage")
        assert events == [
            HPChanged(PID, 5, new, 100, new - 5, "claw", "damage"),
            PlayerMortallyWounded(PID, new),
        ]

    def test_died_from_alive(self) -> None:
        events = rules.health_events(PID, 30, -10, 100, "claw", "damage")
        assert events == [
            HPChanged(PID, 30, -10, 100, -40, "claw", "damage"),
            PlayerDied(PID, -10, "claw"),
        ]

    def test_died_from_dying(self) -> None:
        events = rules.health_events(PID, -5, -10, 100, None, "bleed")
        assert events[1:] == [PlayerDied(PID, -10, None)]

    def test_dying_deeper_is_not_wounded_again(self) -> None:
        assert rules.health_events(PID, -2, -6, 100, None, "bleed") == [
            HPChanged(PID, -2, -6, 100, -4, None, "bleed")
        ]

    def test_zero_to_negative_is_not_wounded_again(self) -> None:
        assert [type(e) for e in rules.health_events(PID, 0, -3, 100, None, "x")] == [HPChanged]

    def test_heal_out_of_dying_only_hp_changed(self) -> None:
        assert rules.health_events(PID, -5, 20, 100, None, "heal") == [
            HPChanged(PID, -5, 20, 100, 25, None, "heal")
        ]


class TestExperience:
    """Level n needs 100·(n-1)² XP; XP events only when XP moved."""

    @pytest.mark.parametrize(
        ("xp", "level"),
        [
            (0, 1),
            (-5, 1),
            (99, 1),
            (100, 2),
            (399, 2),
            (400, 3),
            (899, 3),
            (900, 4),
            (9999, 10),
            (10000, 11),
        ],
    )
    def test_level_for_xp(self, xp: int, level: int) -> None:
        assert rules.level_for_xp(xp) == level

    def test_xp_events(self) -> None:
        assert rules.xp_events(PID, 90, 120, 1, 2, "kill") == [
            XPGained(PID, 30, 120, 2, "kill"),
            PlayerLeveledUp(PID, 1, 2),
        ]
        assert rules.xp_events(PID, 90, 95, 1, 1, "kill") == [XPGained(PID, 5, 95, 1, "kill")]
        assert rules.xp_events(PID, 90, 90, 1, 1, "kill") == []

    def test_stat_events(self) -> None:
        assert rules.stat_events(PID, "sanity", 50, 40, "tome") == [
            StatChanged(PID, "sanity", 50, 40, "tome")
        ]
        assert rules.stat_events(PID, "sanity", 50, 50, "tome") == []


class TestNumbers:
    """Integers only: bools, floats, strings and None are rejected; amounts are non-negative."""

    @pytest.mark.parametrize("value", NOT_INTS)
    def test_require_int_rejects(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_int(value, "delta")

    @pytest.mark.parametrize("value", [*NOT_INTS, -1, -100])
    def test_require_amount_rejects(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_amount(value)

    def test_accepts_ints(self) -> None:
        assert rules.require_int(-7, "delta") == -7
        assert rules.require_amount(0) == 0

    def test_validation_error_is_value_error(self) -> None:
        with pytest.raises(ValueError):
            rules.require_amount(-1)


class TestIdsAndText:
    """UUIDs, keys and names."""

    @pytest.mark.parametrize(
        "value", ["not-a-uuid", "", "1234", "00000000-0000-4000-8000-00000000000Z", 12, None, b"x"]
    )
    def test_malformed_uuid(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_uuid(value)

    def test_uuid_from_text(self) -> None:
        assert rules.require_uuid(str(PID)) == PID
        assert rules.require_uuid(PID) is PID

    @pytest.mark.parametrize("value", ["x" * 51, "", "   ", None, 7])
    def test_bad_names(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.validate_name(value)

    def test_name_of_fifty(self) -> None:
        assert rules.validate_name("x" * 50) == "x" * 50

    @pytest.mark.parametrize("value", ["", "  ", "k" * 101, 5])
    def test_bad_keys(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_key(value, "room_id")

    @pytest.mark.parametrize("values", ["abc", b"abc", 5, [str(PID), "nope"], None])
    def test_require_ids(self, values: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_ids(values, "player_ids")
        assert rules.require_ids([str(PID), PID], "ids") == [PID, PID]


class TestStatFields:
    """Only whitelisted names reach SQL."""

    @pytest.mark.parametrize("name", [*INJECTIONS, None, 5])
    def test_rejects(self, name: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_stat_field(name)

    @pytest.mark.parametrize("name", sorted(rules.STAT_BOUNDS))
    def test_accepts_whitelist(self, name: str) -> None:
        assert rules.require_stat_field(name) == name

    def test_whitelist_is_exactly_the_documented_fields(self) -> None:
        assert set(rules.STAT_BOUNDS) == {
            "strength",
            "dexterity",
            "constitution",
            "intelligence",
            "wisdom",
            "charisma",
            "sanity",
            "fear",
            "corruption",
            "occult_knowledge",
        }


class TestInventory:
    """At most 20 well-formed stacks."""

    def test_twenty_stacks_pass(self) -> None:
        stacks = [{"prototype_id": "key.brass", "quantity": 1}] * 20
        assert rules.validate_inventory(stacks) == stacks

    @pytest.mark.parametrize(
        "inventory",
        [
            [{"prototype_id": "key.brass", "quantity": 1}] * 21,
            {"prototype_id": "key.brass"},
            "key.brass",
            None,
            ["key.brass"],
            [{"quantity": 1}],
            [{"prototype_id": "key.brass", "quantity": 0}],
            [{"prototype_id": "key.brass", "quantity": 10000}],
            [{"prototype_id": "key.brass", "quantity": "2"}],
            [{"prototype_id": "key.brass", "quantity": 1.0}],
            [{"prototype_id": "key.brass", "quantity": True}],
            [{"prototype_id": "", "quantity": 1}],
            [{"prototype_id": "key.brass", "colour": "red"}],
            [{"prototype_id": "key.brass", "item_instance_id": ""}],
        ],
    )
    def test_rejects(self, inventory: Any) -> None:
        with pytest.raises(ValidationError):
            rules.validate_inventory(inventory)

    def test_equipped(self) -> None:
        assert rules.validate_equipped({"head": "item_1"}) == {"head": "item_1"}
        for bad in ({"head": ""}, {"": "item_1"}, ["head"], {"head": 3}):
            with pytest.raises(ValidationError):
                rules.validate_equipped(bad)


class TestPlayers:
    """validate_player checks every field."""

    def test_valid(self) -> None:
        player = _player()
        assert rules.validate_player(player) is player

    @pytest.mark.parametrize(
        "changes",
        [
            {"name": "n" * 51},
            {"player_id": "nope"},
            {"user_id": 5},
            {"current_room_id": ""},
            {"profession_id": "1"},
            {"experience_points": -1},
            {"experience_points": 1.5},
            {"level": 0},
            {"inventory": [{"prototype_id": "x"}] * 21},
            {"stats": Stats(current_health=101)},
            {"stats": Stats(current_health=-11)},
            {"stats": Stats(max_health=0, current_health=0)},
            {"stats": Stats(strength=0)},
            {"stats": Stats(sanity=101)},
            {"stats": Stats(position="flying")},
            {"stats": Stats(fear=True)},
            {"stats": {"current_health": 10}},
        ],
    )
    def test_rejects(self, changes: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            rules.validate_player(_player(**changes))

    def test_rejects_non_player(self) -> None:
        with pytest.raises(ValidationError):
            rules.validate_player({"name": "Wilbur"})


class TestContainers:
    """Capacity 1..20, known lock states and source types, JSON objects."""

    @pytest.mark.parametrize("value", [0, 21, -1, 1.0, "5", None, True])
    def test_capacity_rejects(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_capacity(value)

    @pytest.mark.parametrize("value", [1, 20])
    def test_capacity_bounds(self, value: int) -> None:
        assert rules.require_capacity(value) == value

    @pytest.mark.parametrize("value", ["open", "LOCKED", "", None, "locked; --"])
    def test_lock_state(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_choice(value, rules.LOCK_STATES, "lock state")

    @pytest.mark.parametrize("value", ["chest", "Corpse", "", None])
    def test_source_type(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_choice(value, rules.SOURCE_TYPES, "source type")

    def test_known_choices(self) -> None:
        assert rules.LOCK_STATES == {"unlocked", "locked", "sealed"}
        assert rules.SOURCE_TYPES == {"environment", "equipment", "corpse"}

    @pytest.mark.parametrize("value", [[], "x", None, {1: "a"}])
    def test_mapping(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_mapping(value, "metadata")


class TestStorableText:
    """Every string that reaches SQL is storable: no NUL, no lone surrogate."""

    @pytest.mark.parametrize("value", ["Wil\x00bur", "\x00", "bad\ud800half"])
    def test_unstorable(self, value: str) -> None:
        for check in (rules.read_key, rules.require_text, rules.require_key):
            with pytest.raises(ValidationError, match="room_id"):
                check(value, "room_id")
        with pytest.raises(ValidationError):
            rules.validate_name(value)

    def test_unstorable_in_a_player(self) -> None:
        with pytest.raises(ValidationError):
            rules.validate_player(_player(current_room_id="arkham\x00_1"))
        with pytest.raises(ValidationError):
            rules.validate_player(_player(equipped={"head": "hat\x00"}))

    def test_lookups_take_any_storable_string(self) -> None:
        assert rules.read_key("", "name") == ""
        assert rules.read_key("x" * 500, "name") == "x" * 500
        assert rules.read_key("Ægir ☃", "name") == "Ægir ☃"
        with pytest.raises(ValidationError):
            rules.read_key(None, "name")


class TestJson:
    """JSONB inputs are checked once, the same way on both paths."""

    @pytest.mark.parametrize(
        "value",
        [
            {"a": object()},
            {"a": {1, 2}},
            {"a": float("nan")},
            {"a": float("inf")},
            {"a": b"bytes"},
            {"a": {"b": {2: "non-string key"}}},
            {"a": ["x\x00"]},
            {"a\x00": 1},
            {"a": datetime(2025, 1, 1)},
        ],
    )
    def test_rejects(self, value: dict[str, Any]) -> None:
        with pytest.raises(ValidationError, match="metadata"):
            rules.require_json_object(value, "metadata")

    @pytest.mark.parametrize("value", [[], "x", None, {1: "a"}])
    def test_not_an_object(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            rules.require_json_object(value, "metadata")

    def test_too_deep(self) -> None:
        value: dict[str, Any] = {}
        for _ in range(rules.MAX_JSON_DEPTH + 1):
            value = {"a": value}
        with pytest.raises(ValidationError, match="deeper"):
            rules.require_json_object(value, "metadata")

    def test_accepts(self) -> None:
        value = {"a": [1, 2.5, True, None, "ü"], "b": {"c": (1, 2)}, "d": 10**30}
        assert rules.require_json_object(value, "metadata") is value


class TestDatetimes:
    """A naive datetime means UTC on both paths; anything but a datetime is rejected."""

    def test_naive_is_utc(self) -> None:
        naive = datetime(2024, 1, 1, 12, 0)
        assert rules.require_datetime(naive, "when") == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

    def test_aware_is_kept(self) -> None:
        aware = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
        assert rules.require_datetime(aware, "when") is aware

    @pytest.mark.parametrize("value", ["2025-01-01", date(2025, 1, 1), 1700000000, None])
    def test_rejects(self, value: Any) -> None:
        with pytest.raises(ValidationError, match="when"):
            rules.require_datetime(value, "when")

    def test_optional(self) -> None:
        assert rules.optional_datetime(None, "when") is None
        with pytest.raises(ValidationError):
            rules.optional_datetime("now", "when")

    def test_a_players_last_active(self) -> None:
        with pytest.raises(ValidationError, match="last_active"):
            rules.validate_player(_player(last_active="2025-01-01"))
        assert rules.validate_player(_player(last_active=datetime(2025, 1, 1)))


def _cache(rooms: dict[str, str], starts: dict[str, str]) -> RoomCache:
    cache = RoomCache()
    for room_id, zone in rooms.items():
        cache[room_id] = Room(room_id=room_id, zone_id=zone, name=room_id)
    cache.zone_start_rooms.update(starts)
    return cache


class TestFallbackRoom:
    """Own zone's start room (longest zone id first), else the first zone's, else the first room."""

    CACHE = {
        "arkham_000": "arkham",
        "arkham_005": "arkham",
        "innsmouth_000": "innsmouth",
        "innsmouth_docks_000": "innsmouth_docks",
        "dunwich_000": "dunwich",
    }
    STARTS = {
        "arkham": "arkham_000",
        "innsmouth": "innsmouth_000",
        "innsmouth_docks": "innsmouth_docks_000",
        "dunwich": "dunwich_000",
    }

    def test_existing_room(self) -> None:
        assert rules.fallback_room("arkham_005", _cache(self.CACHE, self.STARTS)) is None

    def test_zone_of_the_room_id(self) -> None:
        assert (
            rules.fallback_room("innsmouth_999", _cache(self.CACHE, self.STARTS)) == "innsmouth_000"
        )

    def test_longest_zone_wins(self) -> None:
        cache = _cache(self.CACHE, self.STARTS)
        assert rules.fallback_room("innsmouth_docks_9", cache) == "innsmouth_docks_000"

    def test_unknown_zone_first_zone_by_id(self) -> None:
        assert rules.fallback_room("yuggoth_1", _cache(self.CACHE, self.STARTS)) == "arkham_000"

    def test_start_room_missing_skips_zone(self) -> None:
        starts = {**self.STARTS, "arkham": "arkham_gone"}
        cache = _cache(self.CACHE, starts)
        assert rules.fallback_room("arkham_9", cache) == "dunwich_000"
        assert rules.fallback_room("yuggoth_1", cache) == "dunwich_000"

    def test_no_zones_first_room(self) -> None:
        assert rules.fallback_room("nowhere", _cache(self.CACHE, {})) == "arkham_000"

    def test_empty_cache(self) -> None:
        assert rules.fallback_room("nowhere", RoomCache()) is None
