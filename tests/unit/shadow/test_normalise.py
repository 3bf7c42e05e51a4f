"""Normalisation turns both paths' values into the same plain data when they mean the same."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest

from shadow.normalise import canonical_json, normalise, normalise_event, normalise_events

pytestmark = pytest.mark.unit

ID = UUID("12345678-1234-5678-1234-567812345678")


@dataclass(frozen=True, slots=True)
class Stats:
    hp: int = 10
    position: str = "standing"


@dataclass(slots=True)
class Player:
    player_id: UUID
    stats: Stats = field(default_factory=Stats)
    tags: set[str] = field(default_factory=set)
    seen: datetime | None = None


class Row:
    def to_dict(self) -> dict[str, Any]:
        return {"id": ID, "weight": Decimal("1.50")}


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True, slots=True)
class HPChanged:
    player_id: UUID
    old_hp: int
    new_hp: int


class TestScalars:
    """Scalars become JSON-safe and equal across driver representations."""

    def test_uuid_becomes_its_string(self) -> None:
        assert normalise(ID) == str(ID)

    def test_aware_datetimes_become_utc_iso(self) -> None:
        paris = timezone(timedelta(hours=1))
        a = datetime(2024, 1, 1, 13, 0, tzinfo=paris)
        b = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
        assert normalise(a) == normalise(b) == "2024-01-01T12:00:00+00:00"

    def test_naive_datetime_is_taken_as_utc(self) -> None:
        assert normalise(datetime(2024, 1, 1, 12)) == "2024-01-01T12:00:00+00:00"

    def test_date_is_iso(self) -> None:
        assert normalise(date(2024, 2, 3)) == "2024-02-03"

    @pytest.mark.parametrize(
        ("number", "text"),
        [
            (Decimal("12.50"), "12.5"),
            (Decimal("12.5"), "12.5"),
            (Decimal("1E+2"), "100"),
            (Decimal("0.00"), "0"),
            (Decimal("-0.0"), "0"),
            (Decimal("-3.140"), "-3.14"),
        ],
    )
    def test_decimal_becomes_canonical_string(self, number: Decimal, text: str) -> None:
        assert normalise(number) == text

    def test_decimal_and_float_differ(self) -> None:
        assert normalise(Decimal("12.5")) != normalise(12.5)

    def test_enum_becomes_its_value(self) -> None:
        assert normalise(Colour.RED) == "red"

    def test_bytes_become_hex(self) -> None:
        assert normalise(b"\x01\xff") == "01ff"

    def test_plain_values_are_unchanged(self) -> None:
        for value in (None, True, 3, 2.5, "text"):
            assert normalise(value) == value


class TestJsonText:
    """JSONB read as text by one path equals the same JSONB read as data by the other."""

    def test_object_text_is_parsed(self) -> None:
        assert normalise('{"a": [1, 2]}') == {"a": [1, 2]}

    def test_array_text_is_parsed(self) -> None:
        assert normalise("[1, 2]") == [1, 2]

    def test_text_that_is_not_json_stays(self) -> None:
        assert normalise("{not json") == "{not json"

    def test_scalar_json_text_stays_text(self) -> None:
        assert normalise("42") == "42"
        assert normalise('"x"') == '"x"'


class TestContainers:
    """Containers and objects become dicts and lists, recursively."""

    def test_dataclass_becomes_dict_of_fields(self) -> None:
        player = Player(ID, tags={"b", "a"}, seen=datetime(2024, 1, 1, tzinfo=UTC))
        assert normalise(player) == {
            "player_id": str(ID),
            "stats": {"hp": 10, "position": "standing"},
            "tags": ["a", "b"],
            "seen": "2024-01-01T00:00:00+00:00",
        }

    def test_to_dict_objects_are_used(self) -> None:
        assert normalise(Row()) == {"id": str(ID), "weight": "1.5"}

    def test_tuples_become_lists(self) -> None:
        assert normalise((1, (2, 3))) == [1, [2, 3]]

    def test_non_string_keys_become_strings(self) -> None:
        assert normalise({ID: 1, 2: "x"}) == {str(ID): 1, "2": "x"}

    def test_sets_become_sorted_lists(self) -> None:
        assert normalise(frozenset({3, 1, 2})) == [1, 2, 3]

    def test_result_is_json_serialisable(self) -> None:
        json.dumps(normalise(Player(ID, tags={"x"}, seen=datetime(2024, 1, 1))))


class TestOrder:
    """Only lists declared unordered are sorted, and only at the top level."""

    def test_ordered_list_keeps_its_order(self) -> None:
        assert normalise([3, 1, 2]) == [3, 1, 2]

    def test_unordered_list_is_sorted(self) -> None:
        a = normalise([{"id": "b"}, {"id": "a"}], unordered=True)
        b = normalise([{"id": "a"}, {"id": "b"}], unordered=True)
        assert a == b == [{"id": "a"}, {"id": "b"}]

    def test_unordered_mixed_types_sort_without_error(self) -> None:
        assert normalise([1, "a", None], unordered=True) == normalise(
            ["a", None, 1], unordered=True
        )

    def test_nested_lists_are_not_sorted(self) -> None:
        assert normalise([{"items": [2, 1]}], unordered=True) == [{"items": [2, 1]}]


class TestEvents:
    """Events become their class name plus their fields."""

    def test_event_has_type_and_fields(self) -> None:
        event = HPChanged(ID, 10, 5)
        assert normalise_event(event) == {
            "type": "HPChanged",
            "player_id": str(ID),
            "old_hp": 10,
            "new_hp": 5,
        }

    def test_events_keep_their_order(self) -> None:
        events = normalise_events([HPChanged(ID, 10, 5), HPChanged(ID, 5, 1)])
        assert [e["new_hp"] for e in events] == [5, 1]


def test_canonical_json_sorts_keys() -> None:
    assert canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'
