"""Item instances: create, ensure, read, exists, delete and list by owner."""

from __future__ import annotations

from typing import Any

import pytest

from persistence.errors import NotFoundError, PersistenceError, ValidationError
from tests.contract.adapters import PathUnderTest
from tests.contract.expect import item_matches_row, rejected
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract

FULL = {
    "owner_type": "player",
    "location_context": "backpack",
    "quantity": 3,
    "condition": 80,
    "custom_name": "grandfather's key",
    "metadata": {"engraving": "R.C."},
}


class TestCreate:
    """create_item_instance stores every field and returns the stored item."""

    async def test_every_field(self, path: PathUnderTest, stored: StoredState) -> None:
        owner = str(stored.players()[0]["player_id"])
        made = await path.call(
            "create_item_instance", "item_new_1", "key.brass", owner_id=owner, **FULL
        )
        row = stored.item("item_new_1")
        assert row is not None
        item_matches_row(made, row)
        expected = {**FULL, "owner_id": owner, "prototype_id": "key.brass"}
        assert {k: row[k] for k in expected} == expected
        assert path.published == []

    async def test_defaults(self, path: PathUnderTest, stored: StoredState) -> None:
        made = await path.call("create_item_instance", "item_new_2", "tome.necronomicon")
        row = stored.item("item_new_2") or {}
        item_matches_row(made, row)
        assert (row["owner_type"], row["owner_id"], row["quantity"], row["metadata"]) == (
            "none",
            None,
            1,
            {},
        )
        assert (row["condition"], row["custom_name"], row["location_context"]) == (None, None, None)

    async def test_taken_id_is_refused(self, path: PathUnderTest, stored: StoredState) -> None:
        taken = stored.value("SELECT min(item_instance_id) FROM item_instances")
        await rejected(path, stored, PersistenceError, "create_item_instance", taken, "key.brass")

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"owner_type": "ghost", "owner_id": "x"},
            {"quantity": 0},
            {"quantity": 10000},
            {"quantity": "2"},
            {"quantity": 2.0},
            {"quantity": True},
            {"metadata": ["x"]},
        ],
        ids=[
            "owner type",
            "quantity 0",
            "quantity 10000",
            "quantity text",
            "quantity float",
            "quantity bool",
            "metadata",
        ],
    )
    async def test_bad(
        self, path: PathUnderTest, stored: StoredState, kwargs: dict[str, Any]
    ) -> None:
        await rejected(
            path, stored, ValidationError, "create_item_instance", "item_bad", "key.brass", **kwargs
        )

    @pytest.mark.parametrize("item_id", ["", "   ", None, 5, "item\x00nul"])
    async def test_bad_id(self, path: PathUnderTest, stored: StoredState, item_id: Any) -> None:
        await rejected(path, stored, ValidationError, "create_item_instance", item_id, "key.brass")


class TestEnsure:
    """ensure_item_instance creates a missing item and leaves an existing one as it is."""

    async def test_creates(self, path: PathUnderTest, stored: StoredState) -> None:
        made = await path.call("ensure_item_instance", "item_new_3", "armor.fedora", quantity=2)
        row = stored.item("item_new_3") or {}
        item_matches_row(made, row)
        assert (row["prototype_id"], row["quantity"]) == ("armor.fedora", 2)

    async def test_keeps_existing(self, path: PathUnderTest, stored: StoredState) -> None:
        existing = stored.value("SELECT min(item_instance_id) FROM item_instances")
        before = stored.item(existing) or {}
        found = await path.call(
            "ensure_item_instance", existing, "junk.fish_scale", quantity=9, custom_name="other"
        )
        assert stored.item(existing) == before
        item_matches_row(found, before)


class TestRead:
    """By id, existence and by owner (ordered by item_instance_id)."""

    async def test_by_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.rows("SELECT * FROM item_instances ORDER BY item_instance_id")[::9]:
            item_matches_row(await path.call("get_item_instance", row["item_instance_id"]), row)
            assert await path.call("item_instance_exists", row["item_instance_id"]) is True
        assert await path.call("get_item_instance", "item_nowhere") is None
        assert await path.call("item_instance_exists", "item_nowhere") is False

    async def test_by_owner(self, path: PathUnderTest, stored: StoredState) -> None:
        owner = stored.value(
            "SELECT owner_id FROM item_instances WHERE owner_type = 'player'"
            " GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
        )
        rows = stored.rows(
            "SELECT * FROM item_instances WHERE owner_type = 'player' AND owner_id = %s"
            " ORDER BY item_instance_id",
            (owner,),
        )
        found = await path.call("list_item_instances_by_owner", "player", owner)
        assert len(found) == len(rows) >= 2
        for item, row in zip(found, rows, strict=True):
            item_matches_row(item, row)
        assert await path.call("list_item_instances_by_owner", "room", owner) == []


class TestDelete:
    """delete_item_instance removes the item (and its container slot)."""

    async def test_deletes(self, path: PathUnderTest, stored: StoredState) -> None:
        held = (
            stored.one("SELECT container_id, item_instance_id FROM container_contents LIMIT 1")
            or {}
        )
        item_id = held["item_instance_id"]
        assert await path.call("delete_item_instance", item_id) is None
        assert stored.item(item_id) is None
        assert item_id not in stored.container_items(held["container_id"])
        assert await path.call("item_instance_exists", item_id) is False

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, NotFoundError, "delete_item_instance", "item_nowhere")
