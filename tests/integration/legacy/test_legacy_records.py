"""The legacy path's player, room, container and item statements against a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from persistence.errors import NotFoundError, ValidationError
from persistence.legacy import PersistenceLayer
from persistence.models import Player
from tests.integration.legacy.conftest import run_sql

pytestmark = pytest.mark.integration

MakePlayer = Callable[..., Player]


class TestPlayers:
    """Upserts keep created_at; constraint violations become ValidationError."""

    def test_save_updates_every_column_but_created_at(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        created = layer.get_player(player.player_id).created_at  # type: ignore[union-attr]
        player.name, player.inventory = "Wilmarth", [{"prototype_id": "lantern", "quantity": 2}]
        player.last_active = datetime(2030, 1, 1, tzinfo=UTC)
        layer.save_player(player)
        stored = layer.get_player(player.player_id)
        assert stored is not None
        assert (stored.name, stored.inventory) == ("Wilmarth", player.inventory)
        assert (stored.created_at, stored.last_active) == (created, player.last_active)

    def test_names_are_unique_whatever_their_case(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        make_player("Armitage")
        with pytest.raises(ValidationError, match="name already exists"):
            make_player("ARMITAGE")
        assert layer.get_player_by_name("armitage") is not None

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"profession_id": 99}, "profession does not exist"),
            ({"user_id": uuid.uuid4()}, "user does not exist"),
        ],
    )
    def test_missing_references_are_validation_errors(
        self,
        layer: PersistenceLayer,
        make_player: MakePlayer,
        overrides: dict[str, object],
        message: str,
    ) -> None:
        player = make_player()
        for name, value in overrides.items():
            setattr(player, name, value)
        with pytest.raises(ValidationError, match=message):
            layer.save_player(player)

    def test_batch_keeps_the_order_asked_for(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        a, b = make_player("Alpha"), make_player("Beta")
        ids = [b.player_id, uuid.uuid4(), a.player_id, str(b.player_id)]
        assert [p.name for p in layer.get_players_batch(ids)] == ["Beta", "Alpha"]

    def test_list_orders_by_name_and_pages(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        for name in ("carol", "Bob", "alice"):
            make_player(name)
        assert [p.name for p in layer.list_players()] == ["alice", "Bob", "carol"]
        assert [p.name for p in layer.list_players(limit=1, offset=1)] == ["Bob"]
        with pytest.raises(ValidationError):
            layer.list_players(limit=-1)

    def test_last_active_and_delete_need_the_player(self, layer: PersistenceLayer) -> None:
        with pytest.raises(NotFoundError):
            layer.update_player_last_active(uuid.uuid4())
        with pytest.raises(NotFoundError):
            layer.delete_player(uuid.uuid4())


class TestRooms:
    """Rooms come from a cache loaded once; lost players go to a start room."""

    def test_rooms_carry_their_exits(self, layer: PersistenceLayer) -> None:
        room = layer.get_room("arkham_square")
        assert room is not None and room.exits == {"north": "arkham_library"}
        assert [r.room_id for r in layer.list_rooms()] == [
            "arkham_library",
            "arkham_square",
            "dunwich_green",
        ]
        assert layer.get_room("nowhere") is None

    @pytest.mark.parametrize(
        ("room_id", "moved_to"),
        [("arkham_square", None), ("dunwich_crypt", "dunwich_green"), ("void", "arkham_square")],
    )
    def test_validate_and_fix_player_room(
        self, layer: PersistenceLayer, make_player: MakePlayer, room_id: str, moved_to: str | None
    ) -> None:
        player = make_player(current_room_id=room_id)
        assert layer.validate_and_fix_player_room(player) is (moved_to is not None)
        assert player.current_room_id == (moved_to or room_id)

    def test_the_cache_is_loaded_once_by_the_first_room_call(
        self, world: str, layer: PersistenceLayer
    ) -> None:
        run_sql(
            world,
            "INSERT INTO rooms (room_id, zone_id, name) VALUES ('arkham_attic', 'arkham', 'Attic')",
        )
        assert layer.get_room("arkham_attic") is not None
        run_sql(world, "UPDATE rooms SET name = 'Renamed' WHERE room_id = 'arkham_attic'")
        run_sql(world, "DELETE FROM rooms WHERE room_id = 'arkham_library'")
        attic = layer.get_room("arkham_attic")
        assert attic is not None and attic.name == "Attic"
        assert layer.get_room("arkham_library") is not None

    def test_only_available_professions_are_listed(self, layer: PersistenceLayer) -> None:
        assert [p.profession_id for p in layer.get_all_professions()] == [0, 1]
        assert layer.get_profession_by_id(2) is not None


class TestContainers:
    """Slots, locks, capacity and ownership of container contents."""

    @pytest.fixture
    def box(self, layer: PersistenceLayer) -> uuid.UUID:
        for item_id in ("a", "b", "c"):
            layer.create_item_instance(item_id, "lantern")
        return layer.create_container(
            "environment", room_id="arkham_square", capacity_slots=2
        ).container_id

    def test_items_take_the_lowest_free_slot(self, layer: PersistenceLayer, box: uuid.UUID) -> None:
        layer.add_item_to_container(box, "a")
        layer.add_item_to_container(box, "b")
        layer.remove_item_from_container(box, "a")
        assert layer.add_item_to_container(box, "c").items == ["c", "b"]

    def test_adding_and_removing_moves_ownership(
        self, layer: PersistenceLayer, box: uuid.UUID
    ) -> None:
        layer.add_item_to_container(box, "a")
        item = layer.get_item_instance("a")
        assert item is not None and (item.owner_type, item.owner_id) == ("container", str(box))
        assert [
            i.item_instance_id for i in layer.list_item_instances_by_owner("container", str(box))
        ] == ["a"]
        layer.remove_item_from_container(box, "a")
        item = layer.get_item_instance("a")
        assert item is not None and (item.owner_type, item.owner_id) == ("none", None)

    def test_full_locked_and_double_adds_are_refused(
        self, layer: PersistenceLayer, box: uuid.UUID
    ) -> None:
        layer.add_item_to_container(box, "a")
        with pytest.raises(ValidationError, match="already in container"):
            layer.add_item_to_container(box, "a")
        layer.add_item_to_container(box, "b")
        with pytest.raises(ValidationError, match="full"):
            layer.add_item_to_container(box, "c")
        layer.update_container(box, lock_state="locked")
        with pytest.raises(ValidationError, match="locked"):
            layer.remove_item_from_container(box, "a")

    def test_capacity_cannot_drop_below_the_items_held(
        self, layer: PersistenceLayer, box: uuid.UUID
    ) -> None:
        layer.add_item_to_container(box, "a")
        layer.add_item_to_container(box, "b")
        with pytest.raises(ValidationError, match="below"):
            layer.update_container(box, capacity_slots=1)
        updated = layer.update_container(box, capacity_slots=3, metadata={"k": 1})
        assert (updated.capacity_slots, updated.metadata, updated.items) == (
            3,
            {"k": 1},
            ["a", "b"],
        )

    def test_missing_containers_and_items_are_not_found(
        self, layer: PersistenceLayer, box: uuid.UUID
    ) -> None:
        with pytest.raises(NotFoundError):
            layer.add_item_to_container(uuid.uuid4(), "a")
        with pytest.raises(NotFoundError):
            layer.add_item_to_container(box, "ghost")
        with pytest.raises(NotFoundError):
            layer.delete_container(uuid.uuid4())

    def test_an_unknown_room_is_a_validation_error(self, layer: PersistenceLayer) -> None:
        with pytest.raises(ValidationError, match="room does not exist"):
            layer.create_container("environment", room_id="atlantis")

    def test_decayed_containers_come_oldest_first(self, layer: PersistenceLayer) -> None:
        now = datetime.now(UTC)
        late = layer.create_container("corpse", decay_at=now - timedelta(minutes=1))
        early = layer.create_container("corpse", decay_at=now - timedelta(hours=1))
        layer.create_container("corpse", decay_at=now + timedelta(hours=1))
        decayed = layer.get_decayed_containers(now)
        assert [c.container_id for c in decayed] == [early.container_id, late.container_id]


class TestItems:
    """Item instances: create refuses a taken id, ensure returns the existing one."""

    def test_ensure_returns_the_existing_item_unchanged(self, layer: PersistenceLayer) -> None:
        created = layer.create_item_instance("i1", "lantern", quantity=3)
        again = layer.ensure_item_instance("i1", "lantern", quantity=9, custom_name="x")
        assert again == created
        with pytest.raises(ValidationError, match="already exists"):
            layer.create_item_instance("i1", "lantern")

    def test_an_unknown_prototype_is_a_validation_error(self, layer: PersistenceLayer) -> None:
        with pytest.raises(ValidationError, match="prototype does not exist"):
            layer.ensure_item_instance("i2", "no_such_thing")
        assert not layer.item_instance_exists("i2")
