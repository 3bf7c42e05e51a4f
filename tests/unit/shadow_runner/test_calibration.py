"""Which calls are calibrated: the share per domain, and reads that update their argument."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from app.settings import Settings, parse_calibration_domains
from routing.registry import Operation
from routing.shadowing.calibration import Calibration, CalibrationConfig, swapped
from routing.shadowing.judge import Judge

pytestmark = pytest.mark.unit


class CountingEngine:
    """An engine with ``calibrate``: records the A/A pairs it is shown."""

    def __init__(self) -> None:
        self.pairs: list[Any] = []

    def observe(self, *args: Any, **kwargs: Any) -> None:
        return None

    def calibrate(self, operation: Any, first: Any, second: Any, *, mode: str) -> None:
        self.pairs.append((operation.name, first.path, second.path, mode))


def calibration(percent: float, draw: float, **domains: float) -> Calibration:
    judge = Judge(CountingEngine(), 1.0)
    return Calibration(CalibrationConfig(percent, domains), judge, draw=lambda: draw)


READ = Operation("player", "get_player_by_id", "read", "player_id")
MUTATING_READ = Operation(
    "player", "validate_and_fix_player_room", "read", None, mutates_arguments=True
)
WRITE = Operation("health", "damage_player", "write", None, mutates_arguments=True)


class TestSampling:
    """A call is calibrated when the draw falls under its domain's percent."""

    def test_percent_and_domain_override(self) -> None:
        assert calibration(1.0, 0.005).sampled(READ)
        assert not calibration(1.0, 0.02).sampled(READ)
        assert calibration(1.0, 0.02, player=5.0).sampled(READ)
        assert not calibration(100.0, 0.0, health=0.0).sampled(WRITE)

    def test_reads_that_update_their_argument_are_not_calibrated(self) -> None:
        assert not calibration(100.0, 0.0).sampled(MUTATING_READ)
        assert calibration(100.0, 0.0).sampled(WRITE)

    def test_an_engine_without_calibrate_calibrates_nothing(self) -> None:
        judge = Judge(SimpleNamespace(observe=lambda *a, **k: None), 1.0)  # type: ignore[arg-type]
        assert not Calibration(CalibrationConfig(100.0), judge).sampled(READ)

    def test_the_second_run_is_the_primary_path(self) -> None:
        assert swapped("shadow") == "live" and swapped("live") == "shadow"

    def test_the_second_run_gets_its_own_copy_of_mutated_arguments(self) -> None:
        player = {"hp": 10}
        inputs = {"args": (player, 3), "kwargs": {}}
        args, _ = Calibration.arguments(WRITE, inputs)
        assert args[0] == player and args[0] is not player
        assert Calibration.arguments(READ, inputs)[0] is inputs["args"]


class TestWarmUp:
    """An operation with fewer A/A runs than the warm-up is calibrated on every call."""

    @staticmethod
    def warming(percent: float, warmup: int, known: int | None = None) -> Calibration:
        judge = Judge(CountingEngine(), 1.0)
        config = CalibrationConfig(percent, {}, warmup)
        told = None if known is None else (lambda d, o: known)
        return Calibration(config, judge, draw=lambda: 0.99, known=told)

    def test_every_call_until_the_warm_up_is_done(self) -> None:
        calibration = self.warming(1.0, 3)
        assert calibration.warming(WRITE) and calibration.sampled(WRITE)
        calibration.runs[("health", "damage_player")] = 3
        assert not calibration.warming(WRITE) and not calibration.sampled(WRITE)
        assert calibration.warming(READ)  # per operation

    def test_with_a_judge_it_ends_at_the_judgement_that_saw_the_runs(self) -> None:
        calibration = self.warming(1.0, 3, known=2)
        calibration.runs[("health", "damage_player")] = 5  # run here, not judged yet
        assert calibration.warming(WRITE) and calibration.runs_of(WRITE) == 2
        assert not self.warming(1.0, 3, known=3).warming(WRITE)

    def test_off_at_zero_warm_up_at_zero_percent_and_for_mutating_reads(self) -> None:
        assert not self.warming(1.0, 0).warming(WRITE)
        assert not self.warming(0.0, 3).warming(WRITE)
        assert not self.warming(0.0, 3).sampled(WRITE)
        assert not self.warming(1.0, 3).warming(MUTATING_READ)

    def test_setting(self) -> None:
        assert Settings(DATABASE_URL="postgresql://x@h/d").calibration_warmup == 40
        with pytest.raises(ValueError):
            Settings(DATABASE_URL="postgresql://x@h/d", calibration_warmup=-1)


class TestSettings:
    """DUALPATH_CALIBRATION_PERCENT and DUALPATH_CALIBRATION_DOMAINS, and bad input."""

    def test_parse(self) -> None:
        assert parse_calibration_domains("player=5, health=0") == {"player": 5.0, "health": 0.0}
        assert parse_calibration_domains("") == {}

    @pytest.mark.parametrize("text", ["player", "player=x", "player=101", "=5", "a=-1"])
    def test_bad_domains_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not domain=percent"):
            parse_calibration_domains(text)
        with pytest.raises(ValueError):
            Settings(DATABASE_URL="postgresql://x@h/d", calibration_domains=text)

    def test_percent_bounds(self) -> None:
        assert Settings(DATABASE_URL="postgresql://x@h/d").calibration_percent == 1.0
        with pytest.raises(ValueError):
            Settings(DATABASE_URL="postgresql://x@h/d", calibration_percent=101)
