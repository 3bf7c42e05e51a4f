"""Checks that run before any SQL on the legacy path, and its pure helpers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg2
import pytest

from persistence.errors import DatabaseError, ValidationError
from persistence.legacy import inputs
from persistence.legacy.containers import first_free_slot
from persistence.legacy.pool import dsn_from_url
from persistence.legacy.translate import translate_error
from persistence.legacy.vitals import STAT_STATEMENTS
from persistence.rules import STAT_BOUNDS

pytestmark = pytest.mark.unit


class TestNewContainer:
    """create_container's arguments are checked and normalised."""

    def test_defaults_give_a_fresh_id_and_empty_metadata(self) -> None:
        new = inputs.check_new_container("corpse")
        assert isinstance(new.container_id, uuid.UUID)
        assert (new.lock_state, new.capacity_slots, new.metadata) == ("unlocked", 20, {})

    def test_string_ids_become_uuids(self) -> None:
        entity = uuid.uuid4()
        new = inputs.check_new_container("equipment", entity_id=str(entity))
        assert new.entity_id == entity

    @pytest.mark.parametrize(
        ("args", "kwargs"),
        [
            (("box",), {}),
            (("environment",), {}),
            (("equipment",), {}),
            (("corpse",), {"capacity_slots": 21}),
            (("corpse",), {"capacity_slots": 0}),
            (("corpse",), {"lock_state": "jammed"}),
            (("corpse",), {"weight_limit": Decimal("-1")}),
            (("corpse",), {"weight_limit": Decimal("NaN")}),
            (("corpse",), {"weight_limit": 2.5}),
            (("corpse",), {"metadata": ["not", "a", "dict"]}),
            (("corpse",), {"decay_at": "tomorrow"}),
            (("corpse",), {"container_id": "not-a-uuid"}),
        ],
    )
    def test_bad_arguments_are_rejected(
        self, args: tuple[object], kwargs: dict[str, object]
    ) -> None:
        with pytest.raises(ValidationError):
            inputs.check_new_container(*args, **kwargs)  # type: ignore[arg-type]


class TestNewItem:
    """create_item_instance's arguments are checked; owner and owner_id go together."""

    def test_a_uuid_owner_id_is_stored_as_text(self) -> None:
        owner = uuid.uuid4()
        new = inputs.check_new_item("i1", "lantern", owner_type="player", owner_id=owner)
        assert new.owner_id == str(owner)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"owner_type": "none", "owner_id": "x"},
            {"owner_type": "player"},
            {"owner_type": "guild", "owner_id": "x"},
            {"quantity": 0},
            {"quantity": 10_000},
            {"quantity": True},
            {"condition": 101},
            {"custom_name": "x" * 101},
        ],
    )
    def test_bad_arguments_are_rejected(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            inputs.check_new_item("i1", "lantern", **kwargs)  # type: ignore[arg-type]

    def test_a_blank_id_is_rejected(self) -> None:
        with pytest.raises(ValidationError):
            inputs.check_new_item("  ", "lantern")


class TestContainerChanges:
    """update_container's arguments: None means unchanged."""

    def test_nothing_given_changes_nothing(self) -> None:
        changes = inputs.check_container_changes()
        assert changes == inputs.ContainerChanges(None, None, None, None)

    def test_a_capacity_out_of_range_is_rejected(self) -> None:
        with pytest.raises(ValidationError):
            inputs.check_container_changes(capacity_slots=25)


class TestFirstFreeSlot:
    """Items go into the lowest free slot."""

    @pytest.mark.parametrize(
        ("taken", "capacity", "slot"),
        [([], 3, 0), ([0, 1], 3, 2), ([1], 3, 0), ([0, 2], 3, 1), ([0, 1, 2], 3, None)],
    )
    def test_lowest_free_slot(self, taken: list[int], capacity: int, slot: int | None) -> None:
        assert first_free_slot(taken, capacity) == slot


class TestHelpers:
    """URL normalisation, error translation and the stat statement table."""

    def test_a_driver_suffix_is_dropped_from_the_url(self) -> None:
        assert dsn_from_url("postgresql+asyncpg://u@h/db") == "postgresql://u@h/db"
        assert dsn_from_url("postgresql://u@/db?host=/tmp/x") == "postgresql://u@/db?host=/tmp/x"

    def test_integrity_and_data_errors_are_validation_errors(self) -> None:
        assert isinstance(translate_error(psycopg2.IntegrityError("dup")), ValidationError)
        assert isinstance(translate_error(psycopg2.DataError("range")), ValidationError)

    def test_other_driver_errors_are_database_errors(self) -> None:
        error = translate_error(psycopg2.OperationalError("server closed the connection\nmore"))
        assert isinstance(error, DatabaseError)
        assert str(error) == "OperationalError: server closed the connection"

    def test_there_is_one_statement_per_whitelisted_stat(self) -> None:
        assert set(STAT_STATEMENTS) == set(STAT_BOUNDS)

    def test_read_keys_must_be_strings(self) -> None:
        with pytest.raises(ValidationError):
            inputs.read_key(42, "room_id")
        assert inputs.read_key("", "room_id") == ""
