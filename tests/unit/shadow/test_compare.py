"""Comparison: equal observations match cheaply; differences get a kind and field paths."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from shadow.compare import ABSENT, CompareOptions, compare, diff_values, timeout_comparison
from shadow.observation import (
    EFFECT_MISMATCH,
    ERROR_MISMATCH,
    EVENT_MISMATCH,
    MATCH,
    RESULT_MISMATCH,
    SHADOW_ERROR,
    SHADOW_TIMEOUT,
    Observation,
)

pytestmark = pytest.mark.unit

ID = UUID(int=7)


def player(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "player_id": ID,
        "name": "Ada",
        "stats": {"current_health": 100, "max_health": 100, "position": "standing"},
        "inventory": [{"item_id": "a", "quantity": 1}, {"item_id": "b", "quantity": 2}],
        "last_active": datetime(2024, 1, 1, tzinfo=UTC),
    }
    base.update(changes)
    return base


def obs(value: Any = None, error: BaseException | None = None, **kw: Any) -> Observation:
    return Observation("legacy", value, error, 0.001, **kw)


def shadow(value: Any = None, error: BaseException | None = None, **kw: Any) -> Observation:
    return Observation("async", value, error, 0.002, **kw)


class DatabaseError(Exception):
    """Stands for persistence.errors.DatabaseError, matched by bare name."""


class NotFoundError(Exception):
    pass


@dataclass(frozen=True)
class XPGained:
    player_id: UUID
    amount: int


INFRA = CompareOptions(infrastructure=frozenset({"DatabaseError", "builtins.TimeoutError"}))


class TestEqual:
    """Equal observations return the shared MATCH, whatever their representation."""

    def test_identical_values_match(self) -> None:
        value = player()
        assert compare(obs(value), shadow(value)) is MATCH

    def test_equal_values_match(self) -> None:
        assert compare(obs(player()), shadow(player())) is MATCH

    def test_same_error_class_matches_whatever_the_message(self) -> None:
        assert compare(obs(error=NotFoundError("a")), shadow(error=NotFoundError("b"))) is MATCH

    def test_equal_after_normalising_matches(self) -> None:
        legacy = player(stats=json.dumps(player()["stats"]), player_id=str(ID))
        assert compare(obs(legacy), shadow(player())) is MATCH

    def test_decimal_scale_does_not_matter(self) -> None:
        assert compare(obs({"w": Decimal("1.50")}), shadow({"w": Decimal("1.5")})) is MATCH

    def test_unordered_lists_match_in_any_order(self) -> None:
        options = CompareOptions(unordered=True)
        assert (
            compare(obs([{"id": 1}, {"id": 2}]), shadow([{"id": 2}, {"id": 1}]), options) is MATCH
        )

    def test_ignored_fields_do_not_count(self) -> None:
        options = CompareOptions(ignore_fields=frozenset({"last_active"}))
        later = player(last_active=datetime(2024, 1, 2, tzinfo=UTC))
        assert compare(obs(player()), shadow(later), options) is MATCH

    def test_equal_effects_and_events_match(self) -> None:
        events = (XPGained(ID, 5),)
        a = obs(1, effects={"xp": 5}, events=events)
        b = shadow(1, effects={"xp": 5}, events=(XPGained(ID, 5),))
        assert compare(a, b) is MATCH


class TestResultMismatch:
    """Different values are a result_mismatch, with DeepDiff's field paths."""

    def test_nested_field_path(self) -> None:
        changed = player(stats={**player()["stats"], "current_health": 90})
        result = compare(obs(player()), shadow(changed))
        assert result.kind == RESULT_MISMATCH
        assert result.diff_paths == ("root['stats']['current_health']",)
        detail = result.mismatches[0].detail["root['stats']['current_health']"]
        assert detail == {"primary": 100, "shadow": 90}

    def test_list_item_path_has_index(self) -> None:
        inventory = [{"item_id": "a", "quantity": 1}, {"item_id": "b", "quantity": 3}]
        result = compare(obs(player()), shadow(player(inventory=inventory)))
        assert result.diff_paths == ("root['inventory'][1]['quantity']",)

    def test_missing_field_is_absent(self) -> None:
        fewer = player()
        del fewer["name"]
        result = compare(obs(player()), shadow(fewer))
        assert result.mismatches[0].detail["root['name']"] == {"primary": "Ada", "shadow": ABSENT}

    def test_ordered_list_in_other_order_differs(self) -> None:
        assert compare(obs([1, 2]), shadow([2, 1])).kind == RESULT_MISMATCH

    def test_none_against_value(self) -> None:
        result = compare(obs(None), shadow(player()))
        assert result.kind == RESULT_MISMATCH
        assert result.diff_paths == ("root",)

    def test_mismatch_does_not_change_inputs(self) -> None:
        a, b = player(), player(name="Bob")
        before = copy.deepcopy((a, b))
        compare(obs(a), shadow(b))
        assert (a, b) == before


class TestErrors:
    """Errors compare by class; infrastructure failures of the shadow are shadow_error."""

    def test_shadow_raises_domain_error(self) -> None:
        result = compare(obs(1), shadow(error=NotFoundError("x")), INFRA)
        assert result.kind == ERROR_MISMATCH
        assert result.diff_paths == ("error",)
        assert result.mismatches[0].detail["error"]["shadow"]["class"].endswith("NotFoundError")

    def test_primary_raises_and_shadow_returns(self) -> None:
        assert compare(obs(error=NotFoundError()), shadow(1), INFRA).kind == ERROR_MISMATCH

    def test_different_domain_classes(self) -> None:
        result = compare(obs(error=NotFoundError()), shadow(error=ValueError()), INFRA)
        assert result.kind == ERROR_MISMATCH

    def test_shadow_infrastructure_error_is_shadow_error(self) -> None:
        assert compare(obs(1), shadow(error=DatabaseError()), INFRA).kind == SHADOW_ERROR

    def test_infrastructure_subclass_counts(self) -> None:
        class PoolTimeout(TimeoutError):
            pass

        assert compare(obs(1), shadow(error=PoolTimeout()), INFRA).kind == SHADOW_ERROR

    def test_primary_infrastructure_error_is_error_mismatch(self) -> None:
        assert compare(obs(error=DatabaseError()), shadow(1), INFRA).kind == ERROR_MISMATCH

    def test_error_takes_precedence_over_effects(self) -> None:
        result = compare(obs(1, effects={"a": 1}), shadow(error=NotFoundError()), INFRA)
        assert [m.kind for m in result.mismatches] == [ERROR_MISMATCH, EFFECT_MISMATCH]
        assert result.kind == ERROR_MISMATCH


class TestEffectsAndEvents:
    """Writes are compared on what they left in the rows and what they published."""

    def test_effect_mismatch(self) -> None:
        result = compare(obs(None, effects={"hp": 5}), shadow(None, effects={"hp": 6}))
        assert result.kind == EFFECT_MISMATCH
        assert result.diff_paths == ("effects['hp']",)

    def test_event_mismatch(self) -> None:
        result = compare(
            obs(None, events=(XPGained(ID, 5),)), shadow(None, events=(XPGained(ID, 6),))
        )
        assert result.kind == EVENT_MISMATCH
        assert result.diff_paths == ("events[0]['amount']",)

    def test_missing_event(self) -> None:
        result = compare(obs(None, events=(XPGained(ID, 5),)), shadow(None))
        assert result.kind == EVENT_MISMATCH
        assert result.diff_paths == ("events[0]",)

    def test_result_before_effect_before_event(self) -> None:
        a = obs(1, effects={"x": 1}, events=(XPGained(ID, 1),))
        b = shadow(2, effects={"x": 2}, events=())
        kinds = [m.kind for m in compare(a, b).mismatches]
        assert kinds == [RESULT_MISMATCH, EFFECT_MISMATCH, EVENT_MISMATCH]


def test_timeout_comparison() -> None:
    result = timeout_comparison()
    assert result.kind == SHADOW_TIMEOUT
    assert result.diff_paths == ("timeout",)


def test_diff_values_sorted_paths() -> None:
    assert list(diff_values({"b": 1, "a": 1}, {"b": 2, "a": 2})) == ["root['a']", "root['b']"]
