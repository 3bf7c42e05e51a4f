"""The rollout order: one step forward, any step back; a jump must be forced."""

from __future__ import annotations

import itertools

import pytest

from flags.model import MODES, FlagError
from flags.transitions import TransitionError, check_transition, is_jump, step_back

pytestmark = pytest.mark.unit

LEGAL_FORWARD = {("legacy", "shadow"), ("shadow", "live"), ("live", "async")}


class TestTransitions:
    """Every pair of modes is legal, a forward step, or a jump that needs forcing."""

    @pytest.mark.parametrize(("current", "wanted"), list(itertools.product(MODES, MODES)))
    def test_every_pair(self, current: str, wanted: str) -> None:
        back_or_same = MODES.index(wanted) <= MODES.index(current)
        if back_or_same or (current, wanted) in LEGAL_FORWARD:
            check_transition(current, wanted)  # type: ignore[arg-type]
            assert not is_jump(current, wanted)  # type: ignore[arg-type]
        else:
            with pytest.raises(TransitionError, match="skips a step"):
                check_transition(current, wanted)  # type: ignore[arg-type]
            check_transition(current, wanted, forced=True)  # type: ignore[arg-type]

    def test_unknown_current_counts_as_legacy(self) -> None:
        check_transition(None, "shadow")
        with pytest.raises(TransitionError):
            check_transition(None, "live")

    def test_message_names_the_skipped_steps_and_the_way_out(self) -> None:
        with pytest.raises(TransitionError) as caught:
            check_transition("legacy", "async")
        assert "legacy → shadow → live → async" in str(caught.value)
        assert "--force" in str(caught.value) and "force=true" in str(caught.value)

    def test_is_a_flag_error(self) -> None:
        assert issubclass(TransitionError, FlagError)


class TestStepBack:
    """The guard's fallbacks are legal steps back."""

    @pytest.mark.parametrize(
        ("mode", "fallback"),
        [("async", "legacy"), ("live", "shadow"), ("shadow", "legacy"), ("legacy", "legacy")],
    )
    def test_fallback(self, mode: str, fallback: str) -> None:
        assert step_back(mode) == fallback  # type: ignore[arg-type]
        check_transition(mode, step_back(mode))  # type: ignore[arg-type]
