"""Full slots shed load, but never starve an operation that has had no shadow for a while."""

from __future__ import annotations

import pytest

from routing.shadowing.admission import Slots

pytestmark = pytest.mark.unit


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestSlots:
    """A count that never waits; one shadow per starved operation per ``fair_s`` beyond it."""

    def test_full_slots_skip_a_busy_operation(self) -> None:
        slots = Slots(2, clock=Clock())
        assert slots.take("get_player_by_id") and slots.take("get_player_by_id")
        assert not slots.take("get_player_by_id")
        slots.give_back()
        assert slots.take("get_player_by_id")

    def test_a_starved_operation_gets_one_beyond_the_count(self) -> None:
        clock = Clock()
        slots = Slots(2, fair_s=1.0, clock=clock)
        assert slots.take("get_player_by_id") and slots.take("get_player_by_id")
        assert slots.take("update_container")  # never had one: admitted beyond the count
        assert not slots.take("update_container")  # once per fair_s
        clock.now += 1.0
        assert slots.take("update_container")
        assert not slots.take(None)  # a call that names no operation has no claim

    def test_beyond_the_count_is_bounded(self) -> None:
        slots = Slots(2, fair_s=1.0, clock=Clock())
        assert all(slots.take("busy") for _ in range(2))
        admitted = [slots.take(f"quiet_{i}") for i in range(5)]
        assert admitted == [True, True, False, False, False]  # at most size more
        for _ in range(4):
            slots.give_back()
        assert slots.take("busy")  # the count is back under its size
