"""The engine compares, applies ignore rules, counts, and records divergences; it never leaks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from shadow.engine import WARMING, DivergenceError, EngineConfig, ShadowEngine
from shadow.held import HeldDivergences
from shadow.ignore import IgnoreRule, IgnoreRules
from shadow.metrics import ShadowMetrics
from shadow.observation import (
    EFFECT_MISMATCH,
    ERROR_MISMATCH,
    RESULT_MISMATCH,
    SHADOW_ERROR,
    SHADOW_TIMEOUT,
    Observation,
)
from shadow.records import Divergence
from shadow.rollup import MinuteRollup
from shadow.signature import signature

pytestmark = pytest.mark.unit

ID = UUID(int=1)


@dataclass(frozen=True)
class Op:
    domain: str = "players"
    name: str = "get_player"
    unordered: bool = False
    ignore_fields: frozenset[str] = field(default_factory=frozenset)


class ListSink:
    def __init__(self) -> None:
        self.recorded: list[Divergence] = []

    def record(self, divergence: Divergence) -> None:
        self.recorded.append(divergence)


class BrokenSink:
    def record(self, divergence: Divergence) -> None:
        raise RuntimeError("store exploded")


@dataclass
class Env:
    engine: ShadowEngine
    sink: ListSink
    rules: IgnoreRules
    registry: CollectorRegistry
    rollup: MinuteRollup
    raised: list[tuple[str, BaseException]]

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def make_env(sink: Any = None, **config: Any) -> Env:
    registry = CollectorRegistry()
    rules, rollup, raised = IgnoreRules(), MinuteRollup(), []
    sink = sink or ListSink()
    engine = ShadowEngine(
        sink,
        rules,
        ShadowMetrics(registry),
        rollup,
        EngineConfig(**config),
        raised=lambda op, exc: raised.append((op, exc)),
    )
    return Env(engine, sink, rules, registry, rollup, raised)


@pytest.fixture
def env() -> Env:
    return make_env(service="mud", code_version="abc123")


def legacy(value: Any, **kw: Any) -> Observation:
    return Observation("legacy", value, None, 0.004, **kw)


def async_(value: Any, **kw: Any) -> Observation:
    return Observation("async", value, None, 0.002, **kw)


def outcome(env: Env, value: str) -> float:
    labels = {"domain": "players", "operation": "get_player", "outcome": value}
    return env.sample("dualpath_shadow_comparisons_total", **labels)


class TestMatch:
    """A match is counted and nothing is recorded."""

    def test_match(self, env: Env) -> None:
        result = env.engine.observe(Op(), legacy({"hp": 1}), async_({"hp": 1}), mode="shadow")
        assert result is not None and not result.mismatched and result.kind is None
        assert env.sink.recorded == []
        assert outcome(env, "match") == 1

    def test_latency_per_path(self, env: Env) -> None:
        env.engine.observe(Op(), legacy(1), async_(1), mode="shadow")
        labels = {"path": "legacy", "domain": "players", "operation": "get_player"}
        assert env.sample("dualpath_shadow_path_duration_seconds_sum", **labels) == 0.004
        assert env.sample("dualpath_shadow_path_duration_seconds_count", **labels) == 1

    def test_errors_per_path(self, env: Env) -> None:
        both = Observation("async", None, KeyError("x"), 0.001)
        env.engine.observe(
            Op(), Observation("legacy", None, KeyError("y"), 0.001), both, mode="live"
        )
        labels = {"path": "async", "domain": "players", "operation": "get_player"}
        assert env.sample("dualpath_shadow_path_errors_total", **labels) == 1

    def test_rollup_counts_the_call(self, env: Env) -> None:
        env.engine.observe(Op(), legacy(1), async_(1), mode="shadow")
        (cell,) = env.rollup.drain().values()
        assert (cell.calls, cell.comparisons, cell.divergences) == (1, 1, 0)


class TestDivergence:
    """A divergence is recorded with its signature, paths and plain-data context."""

    def test_recorded(self, env: Env) -> None:
        result = env.engine.observe(
            Op(),
            legacy({"inv": [{"q": 1}, {"q": 2}]}),
            async_({"inv": [{"q": 1}, {"q": 3}]}),
            mode="shadow",
            inputs={"player_id": ID},
        )
        assert result is not None and result.kind == RESULT_MISMATCH
        (d,) = env.sink.recorded
        assert d.diff_paths == ("root['inv'][*]['q']",)
        assert d.signature == signature("players", "get_player", RESULT_MISMATCH, d.diff_paths)
        assert d.inputs == {"player_id": str(ID)}
        assert d.primary_result["value"] == {"inv": [{"q": 1}, {"q": 2}]}
        assert d.shadow_result["path"] == "async"
        assert d.diff == {"root['inv'][1]['q']": {"primary": 2, "shadow": 3}}
        assert (d.service, d.code_version, d.mode) == ("mud", "abc123", "shadow")
        assert d.primary_duration_ms == pytest.approx(4.0)
        assert outcome(env, RESULT_MISMATCH) == 1

    def test_timeout(self, env: Env) -> None:
        late = Observation("async", None, TimeoutError(), 0.5)
        result = env.engine.observe(Op(), legacy(1), late, mode="shadow", timed_out=True)
        assert result is not None and result.kind == SHADOW_TIMEOUT
        assert env.sink.recorded == []  # the shadow's health, not a divergence

    def test_operation_options_are_used(self, env: Env) -> None:
        op = Op(unordered=True, ignore_fields=frozenset({"seen"}))
        a = legacy([{"id": 1, "seen": 1}, {"id": 2}])
        b = async_([{"id": 2}, {"id": 1, "seen": 2}])
        result = env.engine.observe(op, a, b, mode="shadow")
        assert result is not None and not result.mismatched


class TestIgnoreRules:
    """Rules apply before recording; fully covered comparisons count as ignored."""

    def test_fully_ignored(self, env: Env) -> None:
        env.rules.replace([IgnoreRule("players", "get_player", "root['a']", "clock", "ops")])
        result = env.engine.observe(Op(), legacy({"a": 1}), async_({"a": 2}), mode="shadow")
        assert result is not None and result.ignored and not result.mismatched
        assert env.sink.recorded == []
        assert outcome(env, "ignored") == 1
        assert outcome(env, RESULT_MISMATCH) == 0

    def test_partly_ignored_keeps_the_rest(self, env: Env) -> None:
        env.rules.replace([IgnoreRule("players", "get_player", "root['a']", "clock", "ops")])
        env.engine.observe(Op(), legacy({"a": 1, "b": 1}), async_({"a": 2, "b": 2}), mode="shadow")
        (d,) = env.sink.recorded
        assert d.diff_paths == ("root['b']",)
        assert list(d.diff) == ["root['b']"]

    def test_ignored_kind_exposes_the_next(self, env: Env) -> None:
        env.rules.replace([IgnoreRule("players", "get_player", "root['a']", "clock", "ops")])
        a = legacy({"a": 1}, effects={"hp": 1})
        b = async_({"a": 2}, effects={"hp": 2})
        result = env.engine.observe(Op(), a, b, mode="shadow")
        assert result is not None and result.kind == EFFECT_MISMATCH


class TestTestMode:
    """raise_on_divergence raises DivergenceError for divergences only."""

    def test_divergence_raises_with_result(self) -> None:
        env = make_env(raise_on_divergence=True)
        with pytest.raises(DivergenceError) as info:
            env.engine.observe(Op(), legacy(1), async_(2), mode="shadow")
        assert info.value.result.kind == RESULT_MISMATCH
        assert "players.get_player: result_mismatch at root" in str(info.value)
        assert len(env.sink.recorded) == 1

    def test_match_and_ignored_do_not_raise(self) -> None:
        env = make_env(raise_on_divergence=True)
        env.rules.replace([IgnoreRule("players", "get_player", "root", "x", "ops")])
        env.engine.observe(Op(), legacy(1), async_(1), mode="shadow")
        result = env.engine.observe(Op(), legacy(1), async_(2), mode="shadow")
        assert result is not None and result.ignored


class TestNeverLeaks:
    """Failures inside the engine go to the raised hook, never to the caller."""

    def test_failing_sink(self) -> None:
        env = make_env(sink=BrokenSink())
        result = env.engine.observe(Op(), legacy(1), async_(2), mode="shadow")
        assert result is not None and result.kind == RESULT_MISMATCH
        assert [op for op, _ in env.raised] == ["record"]

    def test_failing_comparison(self, env: Env) -> None:
        class Weird:
            def __eq__(self, other: object) -> bool:
                raise RuntimeError("no")

            def to_dict(self) -> dict[str, Any]:
                raise RuntimeError("nope")

        assert env.engine.observe(Op(), legacy(Weird()), async_(Weird()), mode="shadow") is None
        assert [op for op, _ in env.raised] == ["observe"]


class TestShadowHealth:
    """A shadow that timed out or failed in its infrastructure is its health: counted, kept,
    handed to listeners, never a divergence group nor a comparison."""

    def test_a_timeout_is_counted_with_an_exemplar_and_no_group(self, env: Env) -> None:
        seen: list[Any] = []
        env.engine.add_listener(seen.append)
        late = Observation("async", None, None, 0.25)
        inputs = {"args": ["p1"], "kwargs": {"email": "a@b.c"}}
        env.engine.observe(Op(), legacy(1), late, mode="shadow", inputs=inputs, timed_out=True)
        assert env.sink.recorded == []
        assert [r.kind for r in seen] == [SHADOW_TIMEOUT]
        assert env.sample(
            "dualpath_shadow_health_errors_total",
            domain="players", operation="get_player", kind="timeout",
        ) == 1  # fmt: skip
        assert outcome(env, SHADOW_TIMEOUT) == 0
        [exemplar] = env.engine.coverage.exemplars("players")
        assert (exemplar.kind, exemplar.shadow_path, exemplar.elapsed_ms) == (
            "timeout",
            "async",
            250.0,
        )
        assert exemplar.inputs == {"args": ["p1"], "kwargs": {"email": "[redacted]"}}
        [cell] = env.rollup.drain().values()
        assert (cell.calls, cell.comparisons, cell.divergences, cell.timeouts) == (1, 0, 0, 1)
        assert cell.health == {"timeout": 1}

    def test_an_infrastructure_error_of_the_shadow_is_its_health(self, env: Env) -> None:
        broken = Observation("async", None, ConnectionError("reset by peer"), 0.01)
        result = env.engine.observe(Op(), legacy(1), broken, mode="shadow")
        assert result is not None and result.kind == SHADOW_ERROR
        assert env.sink.recorded == []
        [exemplar] = env.engine.coverage.exemplars()
        assert exemplar.kind == "infrastructure" and "reset by peer" in (exemplar.error or "")

    def test_a_shadow_that_raises_a_bug_still_diverges(self, env: Env) -> None:
        broken = Observation("async", None, AttributeError("no such column"), 0.01)
        env.engine.observe(Op(), legacy(1), broken, mode="shadow")
        [recorded] = env.sink.recorded
        assert recorded.kind == ERROR_MISMATCH
        assert env.engine.coverage.exemplars() == []
        assert outcome(env, ERROR_MISMATCH) == 1


class TestCalibrationMetrics:
    """A/A runs and noise verdicts are exported, from zero, apart from the comparisons."""

    def test_a_calibration_run_is_counted_apart(self, env: Env) -> None:
        env.engine._metrics.start_at_zero([("players", "get_player")])
        runs = {"domain": "players", "operation": "get_player"}
        assert env.sample("dualpath_calibration_runs_total", **runs) == 0
        env.engine.calibrate(Op(), legacy({"hp": 1}), legacy({"hp": 2}), mode="shadow")
        assert env.sample("dualpath_calibration_runs_total", **runs) == 1
        assert outcome(env, "match") == 0 and outcome(env, RESULT_MISMATCH) == 0
        assert env.sink.recorded == []

    def test_noise_groups_per_domain_from_zero(self) -> None:
        registry = CollectorRegistry()
        metrics = ShadowMetrics(registry)
        metrics.start_at_zero([("player", "get_player_by_id"), ("room", "get_room_by_id")])

        def noise(domain: str) -> float | None:
            return registry.get_sample_value("dualpath_divergence_groups_noise", {"domain": domain})

        assert (noise("player"), noise("room")) == (0, 0)
        metrics.noise({"player": 2})
        assert (noise("player"), noise("room")) == (2, 0)
        metrics.noise({})
        assert noise("player") == 0


class TestHeldWhileWarmingUp:
    """While its operation warms up, a mismatch A/A saw differ too is held, not counted."""

    def test_held_when_its_own_aa_run_differed_there_and_released_on_verdict(
        self, env: Env
    ) -> None:
        seen: list[Any] = []
        env.engine.add_listener(seen.append)
        aa = ("root['at']",)
        result = env.engine.observe(
            Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow", aa_paths=aa
        )
        assert result is not None and not result.mismatched and result.comparison.ignored
        assert env.sink.recorded == [] and outcome(env, "ignored") == 1
        assert outcome(env, RESULT_MISMATCH) == 0 and not seen[0].mismatched
        [(held_signature, held)] = env.engine.held.waiting().items()
        assert held.count == 1 and held.diff_paths == aa
        assert env.engine.release({held_signature}) == 1
        assert [d.signature for d in env.sink.recorded] == [held_signature]
        assert env.engine.held.waiting() == {}

    def test_a_path_its_aa_run_did_not_see_differ_is_recorded_and_counted(self, env: Env) -> None:
        first = {"at": 1, "hp": 10}
        result = env.engine.observe(
            Op(), legacy(first), async_({"at": 2, "hp": 9}), mode="shadow",
            aa_paths=("root['at']",),
        )  # fmt: skip
        assert result is not None and result.mismatched
        assert len(env.sink.recorded) == 1 and env.engine.held.waiting() == {}

    def test_without_its_own_aa_run_the_operations_earlier_runs_decide(self, env: Env) -> None:
        # nothing known yet: held
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow",
                           aa_paths=WARMING)  # fmt: skip
        assert env.sink.recorded == [] and len(env.engine.held.waiting()) == 1
        # an A/A run that saw "hp" agree: a later difference there is not the path's noise
        env.engine.calibrate(Op(), legacy({"hp": 1, "at": 1}), legacy({"hp": 1, "at": 3}),
                             mode="shadow")  # fmt: skip
        env.engine.observe(Op(), legacy({"hp": 1}), async_({"hp": 2}), mode="shadow",
                           aa_paths=WARMING)  # fmt: skip
        assert [d.diff_paths for d in env.sink.recorded] == [("root['hp']",)]
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 5}), mode="shadow",
                           aa_paths=WARMING)  # fmt: skip
        assert len(env.sink.recorded) == 1
        assert [h.count for h in env.engine.held.waiting().values()] == [2]

    def test_not_warming_up_nothing_is_held(self, env: Env) -> None:
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert len(env.sink.recorded) == 1 and env.engine.held.waiting() == {}

    def test_held_does_not_raise_in_test_mode(self) -> None:
        env = make_env(raise_on_divergence=True)
        result = env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow",
                                    aa_paths=("root['at']",))  # fmt: skip
        assert result is not None and not result.mismatched


class TestHeldOnceJudged:
    """After the verdicts, a new signature at paths judged noise only is held for its group's
    judgement; one with another path, or of a group ops overruled, is recorded and counted."""

    KEY = ("players", "get_player")

    @pytest.fixture
    def env(self) -> Env:
        judged = make_env()
        judged.engine.judged = True
        return judged

    def test_a_new_signature_at_noise_paths_is_held_not_counted(self, env: Env) -> None:
        seen: list[Any] = []
        env.engine.add_listener(seen.append)
        env.engine.noise_paths = {self.KEY: frozenset({"root['at']", "root['seen']"})}
        result = env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert result is not None and result.comparison.ignored and not seen[0].mismatched
        assert env.sink.recorded == [] and outcome(env, RESULT_MISMATCH) == 0
        [(signature, held)] = env.engine.held.waiting().items()
        assert held.diff_paths == ("root['at']",)
        # once its group is judged noise, its divergences are recorded and counted as ignored
        env.engine.noise = frozenset({signature})
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 3}), mode="shadow")
        assert [d.signature for d in env.sink.recorded] == [signature]
        assert outcome(env, RESULT_MISMATCH) == 0
        assert env.engine.held.waiting()[signature].count == 1

    def test_a_path_not_judged_noise_is_recorded_and_counted(self, env: Env) -> None:
        env.engine.noise_paths = {self.KEY: frozenset({"root['at']"})}
        env.engine.observe(Op(), legacy({"at": 1, "hp": 1}), async_({"at": 2, "hp": 2}),
                           mode="shadow")  # fmt: skip
        assert len(env.sink.recorded) == 1 and env.engine.held.waiting() == {}
        assert outcome(env, RESULT_MISMATCH) == 1

    def test_judged_for_another_operation_only_is_recorded(self, env: Env) -> None:
        env.engine.noise_paths = {("players", "save_player"): frozenset({"root['at']"})}
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert len(env.sink.recorded) == 1 and env.engine.held.waiting() == {}

    def test_seen_to_differ_aa_without_a_verdict_is_held_unless_judged_real(self, env: Env) -> None:
        env.engine.calibrate(Op(), legacy({"at": 1, "hp": 1}), legacy({"at": 2, "hp": 2}),
                             mode="shadow")  # fmt: skip
        env.engine.real_paths = {self.KEY: frozenset({"root['hp']"})}
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert env.sink.recorded == [] and len(env.engine.held.waiting()) == 1
        env.engine.observe(Op(), legacy({"hp": 1}), async_({"hp": 2}), mode="shadow")
        assert [d.diff_paths for d in env.sink.recorded] == [("root['hp']",)]

    def test_before_any_judgement_nothing_is_held_this_way(self) -> None:
        env = make_env()
        env.engine.calibrate(Op(), legacy({"at": 1}), legacy({"at": 2}), mode="shadow")
        env.engine.noise_paths = {self.KEY: frozenset({"root['at']"})}
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert len(env.sink.recorded) == 1 and env.engine.held.waiting() == {}

    def test_a_group_ops_overruled_counts_again(self, env: Env) -> None:
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        [first] = env.sink.recorded
        env.engine.noise_paths = {self.KEY: frozenset({"root['at']"})}
        env.engine.overruled = frozenset({first.signature})
        env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 3}), mode="shadow")
        assert len(env.sink.recorded) == 2 and outcome(env, RESULT_MISMATCH) == 2
        assert env.engine.held.waiting() == {}


class TestHeldDivergences:
    """Holding is bounded, and a release records the count with the kept exemplars."""

    def test_bounded_and_released_with_its_count(self, env: Env) -> None:
        held = HeldDivergences(exemplars=2, max_signatures=1)
        result = env.engine.observe(Op(), legacy({"at": 1}), async_({"at": 2}), mode="shadow")
        assert result is not None
        d = env.sink.recorded[0]
        assert all(held.hold(d) for _ in range(3))
        other = dataclasses.replace(d, signature="other")
        assert not held.hold(other)
        recorded: list[Divergence] = []
        assert held.release({d.signature, "unknown"}, recorded.append) == 3
        assert recorded == [d, d, d] and held.waiting() == {}
