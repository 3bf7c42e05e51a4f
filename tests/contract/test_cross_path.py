"""Both paths side by side: the same call gives equal models, or the same error class.

Reads run on one database against both paths. Writes whose error class the contract leaves
open run on two identically seeded databases, one per path, and must agree step by step.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from persistence.models import Player
from tests.contract.adapters import PathUnderTest
from tests.contract.conftest import MISSING
from tests.contract.equivalence import Cid, Item, Obj, Op, Pid, differences, transcript
from tests.contract.expect import as_player
from tests.contract.stored import SeededWorld, StoredState
from tests.database import database_name

pytestmark = pytest.mark.contract

WHEN = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


async def _outcome(path: PathUnderTest, method: str, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", await path.call(method, *args)
    except Exception as exc:  # the class is what both paths must agree on
        return "raised", type(exc).__name__


async def _same(both: dict[str, PathUnderTest], method: str, *args: Any) -> Any:
    legacy = await _outcome(both["legacy"], method, *args)
    modern = await _outcome(both["async"], method, *args)
    assert legacy == modern, f"{method}{args!r}"
    assert both["legacy"].published == both["async"].published == []
    return legacy


def _reads(stored: StoredState) -> list[tuple[Any, ...]]:
    """Every read of the contract, over the seeded data and odd inputs."""
    players = stored.players()
    rooms = [r["room_id"] for r in stored.rows("SELECT room_id FROM rooms ORDER BY room_id")]
    containers = stored.rows("SELECT container_id, room_id, entity_id FROM containers")
    items = stored.rows("SELECT item_instance_id, owner_type, owner_id FROM item_instances")
    calls: list[tuple[Any, ...]] = []
    for p in players:
        calls += [("get_player_by_id", p["player_id"]), ("get_player_by_name", p["name"])]
        calls += [("get_player_by_user_id", str(p["user_id"]))]
        calls += [
            ("get_player_by_name", p["name"].upper()),
            ("get_player_by_name", p["name"].lower()),
        ]
    calls += [("get_players_in_room", r) for r in rooms] + [("get_room_by_id", r) for r in rooms]
    calls += [("list_rooms",), ("get_professions",), ("list_players",), ("list_players", 7, 4)]
    calls += [("get_profession_by_id", n) for n in range(-1, 10)]
    calls += [("get_players_batch", [p["player_id"] for p in players[::-3]] + [MISSING])]
    for c in containers:
        calls += [("get_container", c["container_id"]), ("get_containers_by_room_id", c["room_id"])]
        calls += [("get_containers_by_entity_id", c["entity_id"] or MISSING)]
    calls += [("get_decayed_containers", WHEN), ("get_decayed_containers",)]
    for i in items[::5]:
        calls += [("get_item_instance", i["item_instance_id"])]
        calls += [("item_instance_exists", i["item_instance_id"])]
        calls += [("list_item_instances_by_owner", i["owner_type"], i["owner_id"] or "")]
    return calls


ODD_READS: list[tuple[Any, ...]] = [
    ("get_player_by_name", "x" * 51),
    ("get_player_by_name", ""),
    ("get_player_by_name", None),
    ("get_player_by_id", 42),
    ("get_player_by_id", None),
    ("get_room_by_id", ""),
    ("get_room_by_id", None),
    ("get_profession_by_id", "1"),
    ("get_profession_by_id", True),
    ("get_profession_by_id", 1.0),
    ("list_players", 0),
    ("list_players", -1),
    ("list_players", "5"),
    ("list_players", 5, -1),
    ("list_players", True),
    ("get_players_in_room", None),
    ("get_players_batch", [None]),
    ("get_container", None),
    ("get_containers_by_room_id", None),
    ("get_containers_by_entity_id", "nope"),
    ("get_decayed_containers", "2025-01-01"),
    ("get_decayed_containers", datetime(2025, 6, 1, 3, 0)),
    ("get_item_instance", ""),
    ("get_item_instance", None),
    ("item_instance_exists", None),
    ("list_item_instances_by_owner", "ghost", "x"),
    ("list_item_instances_by_owner", "player", None),
]


class TestReadsAgree:
    """Every read gives equal models on both paths, or the same error class."""

    async def test_seeded_reads(self, both: dict[str, PathUnderTest], stored: StoredState) -> None:
        calls = _reads(stored)
        assert len(calls) > 300
        results = [await _same(both, *call) for call in calls]
        assert sum(1 for kind, value in results if kind == "ok" and value) > 250

    @pytest.mark.parametrize("call", ODD_READS, ids=[f"{c[0]}{c[1:]!r}" for c in ODD_READS])
    async def test_odd_reads(
        self, both: dict[str, PathUnderTest], stored: StoredState, call: tuple[Any, ...]
    ) -> None:
        await _same(both, *call)

    async def test_player_objects_agree(
        self, both: dict[str, PathUnderTest], stored: StoredState
    ) -> None:
        pid = stored.players()[0]["player_id"]
        legacy = await both["legacy"].call("get_player_by_id", pid)
        modern = await both["async"].call("get_player_by_id", pid)
        assert isinstance(legacy, Player) and legacy == modern
        assert legacy.to_dict() == modern.to_dict()


class TestRoomsChangedAfterStart:
    """Rooms added or renamed after the paths started: both paths still answer alike."""

    async def test_room_reads_agree(
        self, both: dict[str, PathUnderTest], stored: StoredState
    ) -> None:
        stored.execute(
            "INSERT INTO rooms (room_id, zone_id, name) VALUES ('arkham_999', 'arkham', 'New')"
        )
        stored.execute("UPDATE rooms SET name = 'Renamed' WHERE room_id = 'arkham_001'")
        await _same(both, "get_room_by_id", "arkham_999")
        await _same(both, "get_room_by_id", "arkham_001")
        await _same(both, "list_rooms")
        moved = {}
        for name, path in both.items():
            player = as_player(stored.players()[0])
            player.current_room_id = "arkham_999"
            moved[name] = (
                await path.call("validate_and_fix_player_room", player),
                player.current_room_id,
            )
        assert moved["legacy"] == moved["async"]


def op(method: str, *args: Any, **kwargs: Any) -> Op:
    """An ``Op`` from call syntax."""
    return Op(method, args, tuple(kwargs.items()))


# Writes whose outcome the contract leaves to the paths: they must at least agree.
SCENARIOS: dict[str, list[Op]] = {
    "save a player with a new id": [
        op("edit_and_save", Obj(0), "player_id", MISSING),
        op("get_player_by_id", MISSING),
    ],
    "save a player of a missing user": [op("edit_and_save", Obj(0), "user_id", MISSING)],
    "save a player with a missing profession": [op("edit_and_save", Obj(0), "profession_id", 99)],
    "save a player into a missing room": [op("edit_and_save", Obj(0), "current_room_id", "void_1")],
    "save a stale object after damage": [
        op("damage_player", Obj(1), 5, "claw"),
        op("edit_and_save", Obj(1), "stats.sanity", 1),
        op("get_player_by_id", Pid(1)),
    ],
    "the same player twice in one batch": [op("save_players", [Obj(0), Obj(0)])],
    "container in a missing room": [op("create_container", "environment", room_id="void_1")],
    "container id taken": [
        op("create_container", "corpse", container_id=Cid(0)),
        op("create_container", "corpse", container_id=Cid(0)),
    ],
    "item of a missing prototype": [op("create_item_instance", Item(0), "bogus.proto")],
    "item id taken": [
        op("create_item_instance", Item(0), "key.brass"),
        op("create_item_instance", Item(0), "junk.fish_scale"),
    ],
    "player-owned item without owner id": [
        op("create_item_instance", Item(0), "key.brass", owner_type="player"),
    ],
    "remove an item that is not inside": [
        op("create_container", "corpse", container_id=Cid(0)),
        op("create_item_instance", Item(0), "key.brass"),
        op("remove_item_from_container", Cid(0), Item(0)),
    ],
    "delete a container holding items": [
        op("create_container", "corpse", container_id=Cid(0)),
        op("create_item_instance", Item(0), "key.brass"),
        op("add_item_to_container", Cid(0), Item(0)),
        op("delete_container", Cid(0)),
        op("get_item_instance", Item(0)),
    ],
    "update nothing": [
        op("create_container", "corpse", container_id=Cid(0)),
        op("update_container", Cid(0)),
    ],
    "long reason and damage type": [
        op("damage_player", Obj(0), 1, "x" * 201),
        op("update_player_health", Pid(0), 1, "y" * 201),
    ],
    "delete then write": [
        op("delete_player", Pid(2)),
        op("damage_player", Obj(2), 1, "claw"),
        op("update_player_stat_field", Pid(2), "fear", 1),
    ],
}


class TestWritesAgree:
    """Writes the contract leaves open give the same results, events and tables on both paths."""

    @pytest.mark.parametrize("name", list(SCENARIOS))
    def test_scenario(self, seeded: SeededWorld, second_world: SeededWorld, name: str) -> None:
        legacy = asyncio.run(transcript("legacy", seeded, SCENARIOS[name]))
        modern = asyncio.run(transcript("async", second_world, SCENARIOS[name]))
        assert differences(legacy, modern) == []


NAIVE = datetime(2024, 1, 1, 12, 0)
NAIVE_TIMES = [
    op("update_player_last_active", Pid(0), NAIVE),
    op("get_player_by_id", Pid(0)),
    op("create_container", "corpse", container_id=Cid(0), decay_at=NAIVE),
    op("get_decayed_containers", datetime(2025, 6, 1, 1, 30)),
]


class TestNaiveTimes:
    """A timestamp without a zone means the same instant on both paths, whatever the server's."""

    def test_database_not_in_utc(self, seeded: SeededWorld, second_world: SeededWorld) -> None:
        worlds = (seeded, second_world)
        try:
            for world in worlds:
                _set_timezone(world, "America/New_York")
            legacy = asyncio.run(transcript("legacy", seeded, NAIVE_TIMES))
            modern = asyncio.run(transcript("async", second_world, NAIVE_TIMES))
        finally:
            for world in worlds:
                _set_timezone(world, None)
        assert differences(legacy, modern) == []


def _set_timezone(world: SeededWorld, zone: str | None) -> None:
    """The database's default TimeZone for new sessions (None: the server's)."""
    name = database_name(world.database_url)
    setting = f"SET timezone = '{zone}'" if zone else "RESET timezone"
    world.state.execute(f'ALTER DATABASE "{name}" {setting}')
