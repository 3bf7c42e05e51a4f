"""Containers: create, read, update, decay, delete, and items in and out of their slots."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from persistence.errors import NotFoundError, PersistenceError, ValidationError
from tests.contract.adapters import PathUnderTest
from tests.contract.conftest import MISSING
from tests.contract.expect import container_matches_row, rejected
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract

NEW_ID = UUID("11111111-2222-4333-8444-555555555555")
WHEN = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def _room_with_containers(stored: StoredState) -> str:
    return str(
        stored.value(
            "SELECT room_id FROM containers WHERE room_id IS NOT NULL"
            " GROUP BY room_id ORDER BY count(*) DESC, room_id LIMIT 1"
        )
    )


def _loose_items(stored: StoredState, count: int) -> list[str]:
    """New item instances that belong to nobody."""
    ids = [f"item_loose_{n}" for n in range(count)]
    for item_id in ids:
        stored.execute(
            "INSERT INTO item_instances (item_instance_id, prototype_id) VALUES (%s, 'key.brass')",
            (item_id,),
        )
    return ids


def _empty_container(stored: StoredState, capacity: int = 3, lock: str = "unlocked") -> UUID:
    stored.execute(
        "INSERT INTO containers (container_id, source_type, room_id, lock_state, capacity_slots)"
        " VALUES (%s, 'environment', 'arkham_001', %s, %s)",
        (NEW_ID, lock, capacity),
    )
    return NEW_ID


class TestCreate:
    """create_container stores what it was given and returns the stored container."""

    async def test_environment(self, path: PathUnderTest, stored: StoredState) -> None:
        made = await path.call(
            "create_container",
            "environment",
            room_id="arkham_002",
            lock_state="locked",
            capacity_slots=5,
            weight_limit=Decimal("12.50"),
            metadata={"label": "a mouldering chest", "depth": 2},
            container_id=NEW_ID,
        )
        row = stored.container(NEW_ID)
        assert row is not None
        container_matches_row(made, row)
        assert (row["source_type"], row["room_id"], row["lock_state"]) == (
            "environment",
            "arkham_002",
            "locked",
        )
        assert (row["capacity_slots"], row["weight_limit"]) == (5, Decimal("12.50"))
        assert row["metadata"] == {"label": "a mouldering chest", "depth": 2}
        assert row["items"] == [] and row["entity_id"] is None
        assert path.published == []

    async def test_equipment_by_text_ids(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        made = await path.call(
            "create_container", "equipment", entity_id=str(pid), owner_id=str(pid)
        )
        row = stored.container(made.container_id)
        assert row is not None
        container_matches_row(made, row)
        assert (row["entity_id"], row["owner_id"]) == (pid, pid)
        assert (row["lock_state"], row["capacity_slots"], row["metadata"]) == ("unlocked", 20, {})

    async def test_corpse(self, path: PathUnderTest, stored: StoredState) -> None:
        made = await path.call(
            "create_container",
            "corpse",
            room_id="dunwich_001",
            decay_at=WHEN,
            container_id=str(NEW_ID),
        )
        assert made.container_id == NEW_ID
        assert (stored.container(NEW_ID) or {})["decay_at"] == WHEN


def _bad_creates() -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    room = {"room_id": "arkham_001"}
    return [
        ("unknown source type", ("chest",), room),
        ("source type case", ("Environment",), room),
        ("unknown lock state", ("environment",), {**room, "lock_state": "open"}),
        ("capacity 0", ("environment",), {**room, "capacity_slots": 0}),
        ("capacity 21", ("environment",), {**room, "capacity_slots": 21}),
        ("capacity text", ("environment",), {**room, "capacity_slots": "5"}),
        ("capacity float", ("environment",), {**room, "capacity_slots": 5.0}),
        ("capacity bool", ("environment",), {**room, "capacity_slots": True}),
        ("environment without room", ("environment",), {}),
        ("equipment without entity", ("equipment",), {}),
        ("malformed entity id", ("equipment",), {"entity_id": "nope"}),
        ("malformed owner id", ("environment",), {**room, "owner_id": "nope"}),
        ("malformed container id", ("environment",), {**room, "container_id": "nope"}),
        ("metadata not a mapping", ("environment",), {**room, "metadata": ["a"]}),
        ("metadata not JSON", ("environment",), {**room, "metadata": {"a": object()}}),
        ("NUL in room id", ("environment",), {"room_id": "arkham\x00_001"}),
    ]


class TestCreateRejects:
    """Bad containers: ValidationError, nothing stored."""

    @pytest.mark.parametrize(
        ("case", "args", "kwargs"), _bad_creates(), ids=[c[0] for c in _bad_creates()]
    )
    async def test_bad(
        self,
        path: PathUnderTest,
        stored: StoredState,
        case: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        await rejected(path, stored, ValidationError, "create_container", *args, **kwargs)


class TestRead:
    """By id, by room and by entity, ordered by container_id, items in slot order."""

    async def test_by_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.rows("SELECT container_id FROM containers"):
            found = await path.call("get_container", row["container_id"])
            container_matches_row(found, stored.container(row["container_id"]) or {})

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        assert await path.call("get_container", MISSING) is None
        await rejected(path, stored, ValidationError, "get_container", "nope")

    async def test_by_room(self, path: PathUnderTest, stored: StoredState) -> None:
        room = _room_with_containers(stored)
        ids = stored.rows(
            "SELECT container_id FROM containers WHERE room_id = %s ORDER BY container_id", (room,)
        )
        found = await path.call("get_containers_by_room_id", room)
        assert [c.container_id for c in found] == [r["container_id"] for r in ids]
        for container in found:
            container_matches_row(container, stored.container(container.container_id) or {})
        assert await path.call("get_containers_by_room_id", "yuggoth_000") == []

    async def test_by_entity(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        for n in range(3):
            stored.execute(
                "INSERT INTO containers (container_id, source_type, entity_id)"
                " VALUES (%s, 'equipment', %s)",
                (UUID(int=(3 - n) << 64, version=4), pid),
            )
        expected = stored.rows(
            "SELECT container_id FROM containers WHERE entity_id = %s ORDER BY container_id",
            (pid,),
        )
        found = await path.call("get_containers_by_entity_id", pid)
        assert [c.container_id for c in found] == [r["container_id"] for r in expected]
        assert len(found) >= 3
        assert await path.call("get_containers_by_entity_id", MISSING) == []


class TestDecay:
    """Decayed containers: decay_at <= now, by decay_at then container_id."""

    async def test_given_now(self, path: PathUnderTest, stored: StoredState) -> None:
        expected = stored.rows(
            "SELECT container_id FROM containers WHERE decay_at <= %s"
            " ORDER BY decay_at, container_id",
            (WHEN,),
        )
        found = await path.call("get_decayed_containers", WHEN)
        assert [c.container_id for c in found] == [r["container_id"] for r in expected]
        assert len(found) >= 1

    async def test_database_now(self, path: PathUnderTest, stored: StoredState) -> None:
        expected = stored.rows(
            "SELECT container_id FROM containers WHERE decay_at <= now()"
            " ORDER BY decay_at, container_id"
        )
        found = await path.call("get_decayed_containers")
        assert [c.container_id for c in found] == [r["container_id"] for r in expected]
        assert len(found) > len(await path.call("get_decayed_containers", WHEN))

    async def test_ties_by_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for n in (3, 1, 2):
            stored.execute(
                "INSERT INTO containers (container_id, source_type, decay_at)"
                " VALUES (%s, 'corpse', '2001-01-01T00:00:00Z')",
                (UUID(int=n, version=4),),
            )
        found = await path.call("get_decayed_containers", WHEN)
        assert [c.container_id for c in found[:3]] == [UUID(int=n, version=4) for n in (1, 2, 3)]


class TestUpdate:
    """update_container changes only what it is given."""

    async def test_changes(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        updated = await path.call(
            "update_container",
            cid,
            lock_state="sealed",
            capacity_slots=9,
            decay_at=WHEN,
            metadata={"sigil": "elder"},
        )
        row = stored.container(cid) or {}
        container_matches_row(updated, row)
        assert (row["lock_state"], row["capacity_slots"], row["decay_at"], row["metadata"]) == (
            "sealed",
            9,
            WHEN,
            {"sigil": "elder"},
        )
        assert row["room_id"] == "arkham_001"

    async def test_one_field(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        before = stored.container(cid) or {}
        await path.call("update_container", cid, lock_state="locked")
        after = stored.container(cid) or {}
        assert after["lock_state"] == "locked"
        unchanged = ("capacity_slots", "decay_at", "metadata", "room_id", "source_type")
        assert all(after[k] == before[k] for k in unchanged)

    @pytest.mark.parametrize(
        "changes",
        [
            {"lock_state": "ajar"},
            {"capacity_slots": 0},
            {"capacity_slots": 21},
            {"capacity_slots": "4"},
            {"metadata": "x"},
        ],
    )
    async def test_bad(
        self, path: PathUnderTest, stored: StoredState, changes: dict[str, Any]
    ) -> None:
        cid = _empty_container(stored)
        await rejected(path, stored, ValidationError, "update_container", cid, **changes)

    async def test_capacity_below_items(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        for item in _loose_items(stored, 2):
            await path.call("add_item_to_container", cid, item)
        await rejected(path, stored, ValidationError, "update_container", cid, capacity_slots=1)
        await path.call("update_container", cid, capacity_slots=2)
        assert (stored.container(cid) or {})["capacity_slots"] == 2

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(
            path, stored, NotFoundError, "update_container", MISSING, lock_state="locked"
        )
        await rejected(
            path, stored, ValidationError, "update_container", "nope", lock_state="locked"
        )


class TestDelete:
    """delete_container removes the container and its contents."""

    async def test_deletes(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = stored.value(
            "SELECT container_id FROM container_contents GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        assert await path.call("delete_container", cid) is None
        assert stored.container(cid) is None
        assert stored.container_items(cid) == []
        assert await path.call("get_container", cid) is None

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, NotFoundError, "delete_container", MISSING)
        await rejected(path, stored, ValidationError, "delete_container", "nope")


class TestItems:
    """Items take the lowest free slot; the container becomes their owner while they are in it."""

    async def test_add_and_remove(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        first, second, third = _loose_items(stored, 3)
        await path.call("add_item_to_container", cid, first)
        result = await path.call("add_item_to_container", cid, second)
        assert result.items == [first, second] == stored.container_items(cid)
        container_matches_row(result, stored.container(cid) or {})
        item = stored.item(first) or {}
        assert (item["owner_type"], item["owner_id"]) == ("container", str(cid))
        result = await path.call("remove_item_from_container", cid, first)
        assert result.items == [second] == stored.container_items(cid)
        item = stored.item(first) or {}
        assert (item["owner_type"], item["owner_id"]) == ("none", None)
        result = await path.call("add_item_to_container", cid, third)
        assert result.items == [third, second] == stored.container_items(cid)
        positions = stored.rows(
            "SELECT item_instance_id, position FROM container_contents WHERE container_id = %s"
            " ORDER BY position",
            (cid,),
        )
        assert [(r["item_instance_id"], r["position"]) for r in positions] == [
            (third, 0),
            (second, 1),
        ]
        assert path.published == []

    async def test_full(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=1)
        first, second = _loose_items(stored, 2)
        await path.call("add_item_to_container", cid, first)
        await rejected(path, stored, ValidationError, "add_item_to_container", cid, second)

    @pytest.mark.parametrize("lock", ["locked", "sealed"])
    async def test_locked(self, path: PathUnderTest, stored: StoredState, lock: str) -> None:
        cid = _empty_container(stored, capacity=3)
        inside, outside = _loose_items(stored, 2)
        await path.call("add_item_to_container", cid, inside)
        stored.execute("UPDATE containers SET lock_state = %s WHERE container_id = %s", (lock, cid))
        await rejected(path, stored, ValidationError, "add_item_to_container", cid, outside)
        await rejected(path, stored, ValidationError, "remove_item_from_container", cid, inside)

    async def test_one_container_at_most(self, path: PathUnderTest, stored: StoredState) -> None:
        held = stored.value("SELECT item_instance_id FROM container_contents LIMIT 1")
        cid = _empty_container(stored, capacity=3)
        await rejected(path, stored, ValidationError, "add_item_to_container", cid, held)

    async def test_twice_into_the_same(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        (item,) = _loose_items(stored, 1)
        await path.call("add_item_to_container", cid, item)
        await rejected(path, stored, ValidationError, "add_item_to_container", cid, item)

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        (item,) = _loose_items(stored, 1)
        await rejected(path, stored, NotFoundError, "add_item_to_container", MISSING, item)
        await rejected(path, stored, NotFoundError, "add_item_to_container", cid, "item_nowhere")
        await rejected(path, stored, NotFoundError, "remove_item_from_container", MISSING, item)
        await rejected(path, stored, ValidationError, "add_item_to_container", "nope", item)

    async def test_remove_item_not_inside(self, path: PathUnderTest, stored: StoredState) -> None:
        cid = _empty_container(stored, capacity=3)
        (item,) = _loose_items(stored, 1)
        await rejected(path, stored, PersistenceError, "remove_item_from_container", cid, item)
