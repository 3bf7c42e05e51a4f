"""The rows a read returned on the primary side, mapped back to the tables they came from."""

from __future__ import annotations

from typing import Any

import pytest

from app.read_rows import read_state
from shadow.redact import REDACTED

pytestmark = pytest.mark.unit

PLAYER = {
    "player_id": "00000000-0000-0000-0000-000000000001", "user_id": "u1", "name": "Ann",
    "current_room_id": "hall", "profession_id": 0, "stats": {"current_health": 9},
    "inventory": [], "equipped": {}, "experience_points": 3, "level": 2, "is_admin": False,
    "created_at": "2026-01-01T00:00:00+00:00", "last_active": "2026-01-02T00:00:00+00:00",
}  # fmt: skip
CONTAINER = {
    "container_id": "00000000-0000-0000-0000-0000000000c1", "source_type": "environment",
    "lock_state": "unlocked", "capacity_slots": 20, "owner_id": None, "room_id": "hall",
    "entity_id": None, "weight_limit": "12.5", "decay_at": None, "metadata": {},
    "items": ["sword-1", "coin-7"], "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-01T00:00:00+00:00",
}  # fmt: skip


def returned(value: Any) -> dict[str, Any]:
    """A stored primary result that returned ``value``."""
    return {"path": "legacy", "value": value, "error": None}


def tables(captured: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``captured``, by table."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entity in captured:
        for group in entity["groups"]:
            out.setdefault(group["table"], []).extend(group["rows"])
    return out


class TestReturnedRows:
    """Each model a read returned becomes the rows of its entity."""

    def test_a_list_of_players_is_their_rows(self) -> None:
        other = {**PLAYER, "player_id": "00000000-0000-0000-0000-000000000002", "name": "Bo"}
        state = read_state("get_players_in_room", {"args": ["hall"]}, returned([PLAYER, other]))
        assert state.captured is not None
        assert [e["key"] for e in state.captured] == [PLAYER["player_id"], other["player_id"]]
        assert tables(state.captured) == {"players": [PLAYER, other]}
        assert "2 players" in state.note

    def test_a_container_is_its_row_and_its_contents_in_slot_order(self) -> None:
        state = read_state("get_container", {"args": [CONTAINER["container_id"]]},
                           returned(CONTAINER))  # fmt: skip
        assert state.captured is not None
        rows = tables(state.captured)
        assert rows["containers"] == [{k: v for k, v in CONTAINER.items() if k != "items"}]
        assert [(r["item_instance_id"], r["position"]) for r in rows["container_contents"]] == [
            ("sword-1", 0),
            ("coin-7", 1),
        ]
        assert {r["container_id"] for r in rows["container_contents"]} == {
            CONTAINER["container_id"]
        }

    def test_an_item_is_its_row_only(self) -> None:
        item = {"item_instance_id": "sword-1", "prototype_id": "weapon.sword", "owner_type": "none"}
        state = read_state("list_item_instances_by_owner", {"args": ["player", "p"]},
                           returned([item]))  # fmt: skip
        assert state.captured is not None
        assert tables(state.captured) == {"item_instances": [item]}

    def test_a_room_is_its_row_and_its_exits(self) -> None:
        room = {"room_id": "hall", "zone_id": "z", "name": "Hall", "description": "",
                "environment": "indoors", "exits": {"north": "yard", "down": "cellar"}}  # fmt: skip
        state = read_state("get_room_by_id", {"args": ["hall"]}, returned(room))
        assert state.captured is not None
        rows = tables(state.captured)
        assert rows["rooms"] == [{k: v for k, v in room.items() if k != "exits"}]
        assert sorted((r["direction"], r["target_room_id"]) for r in rows["room_exits"]) == [
            ("down", "cellar"),
            ("north", "yard"),
        ]

    def test_professions_are_their_rows(self) -> None:
        found = [{"profession_id": 0, "name": "Tramp"}, {"profession_id": 3, "name": "Scholar"}]
        state = read_state("get_professions", {"args": []}, returned(found))
        assert state.captured is not None
        assert [e["key"] for e in state.captured] == ["0", "3"]
        assert tables(state.captured) == {"professions": found}

    def test_redacted_columns_become_distinct_placeholders(self) -> None:
        one = {**PLAYER, "name": REDACTED}
        two = {**PLAYER, "player_id": "00000000-0000-0000-0000-000000000002", "name": REDACTED}
        state = read_state("list_players", {"args": []}, returned([one, two]))
        assert state.captured is not None
        names = [row["name"] for row in tables(state.captured)["players"]]
        assert len(set(names)) == 2 and REDACTED not in names
        assert all(name.startswith("redacted-name-players-") for name in names)


class TestNothingReturned:
    """A read that found nothing captures the absence where it has a key, else no rows."""

    def test_a_keyed_read_that_found_nothing_captures_the_absence(self) -> None:
        state = read_state("get_player_by_id", {"args": [PLAYER["player_id"]]}, returned(None))
        assert state.captured is not None
        [entity] = state.captured
        assert entity["key"] == PLAYER["player_id"]
        assert [g["rows"] for g in entity["groups"]] == [[]]

    def test_an_item_that_does_not_exist(self) -> None:
        state = read_state("item_instance_exists", {"args": ["sword-1"]}, returned(False))
        assert state.captured is not None
        [entity] = state.captured
        assert entity["kind"] == "item" and entity["key"] == "sword-1"

    def test_an_empty_list_has_no_rows_to_insert(self) -> None:
        state = read_state("get_players_in_room", {"args": ["hall"]}, returned([]))
        assert state.captured == []
        assert "returned no rows" in state.note

    def test_a_read_by_name_that_found_nothing_has_no_key_to_clear(self) -> None:
        state = read_state("get_player_by_name", {"args": ["Ann"]}, returned(None))
        assert state.captured == []


class TestNotCaptured:
    """A result that is not rows, or an error, captures nothing, and says so."""

    def test_an_item_that_exists_is_not_its_row(self) -> None:
        state = read_state("item_instance_exists", {"args": ["sword-1"]}, returned(True))
        assert state.captured is None
        assert "returned True, not rows" in state.note

    def test_a_room_fix_returns_a_bool(self) -> None:
        state = read_state("validate_and_fix_player_room", {"args": [PLAYER]}, returned(False))
        assert state.captured is None

    def test_a_player_without_its_key(self) -> None:
        partial = {"name": "Ann", "level": 2}
        state = read_state("get_player_by_id", {"player_id": "p"}, returned(partial))
        assert state.captured is None
        assert "without its player_id" in state.note

    def test_an_error(self) -> None:
        error = {"class": "persistence.errors.ValidationError", "message": "bad"}
        failed = {"path": "legacy", "value": None, "error": error}
        state = read_state("get_player_by_id", {"args": ["x"]}, failed)
        assert state.captured is None
        assert "ValidationError" in state.note


class TestUnreproduced:
    """A replay that agrees must agree on what one path returned when the read diverged."""

    def data(self, primary: Any, shadow: Any) -> dict[str, Any]:
        return {"primary_result": returned(primary), "shadow_result": returned(shadow)}

    def test_agreeing_on_either_sides_value_is_reproduced(self) -> None:
        from app.read_rows import unreproduced

        data = self.data([{"level": 2}], [{"level": 3}])
        assert unreproduced(data, [{"level": 2}], None) == {}
        assert unreproduced(data, [{"level": 3}], None) == {}

    def test_agreeing_on_something_else_is_not(self) -> None:
        from app.read_rows import NOT_REPRODUCED, unreproduced

        data = self.data([{"level": 2}], [{"level": 3}])
        found = unreproduced(data, [], None)
        assert found == {NOT_REPRODUCED: {"primary": [{"level": 2}], "replayed": []}}
        assert unreproduced(data, [{"level": 2}, {"level": 2}], None)

    def test_a_redacted_field_matches_its_placeholder(self) -> None:
        from app.read_rows import unreproduced

        data = self.data({"name": REDACTED, "level": 2}, None)
        assert unreproduced(data, {"name": "redacted-name-players-0", "level": 2}, None) == {}
        assert unreproduced(data, {"name": "redacted-name-players-0", "level": 5}, None)

    def test_the_same_error_class_is_reproduced(self) -> None:
        from app.read_rows import unreproduced
        from persistence.errors import ValidationError

        error = {"class": "persistence.errors.ValidationError", "message": "bad"}
        data = {"primary_result": {"value": None, "error": error}, "shadow_result": None}
        assert unreproduced(data, None, ValidationError("bad")) == {}
        assert unreproduced(data, None, None)
