"""The load proof: ``dualpath traffic`` in shadow, then in live, checked against the database.

Each run moves every domain one legal step (``legacy → shadow``, then ``shadow → live``),
runs ``dualpath traffic --json --tally N`` in a child process and checks what it reports
against the database, read directly (``bench.load``): tally players' HP and XP are their
start plus the acknowledged deltas, one event per acknowledged write, no errors, every
comparison on the right paths and agreeing, the flags where they were put. Two ``dualpath
serve`` processes time a flag flip from one to the other.

The fast variant (50 players, 5 s a mode) runs in ``make test``; the full one (200 players,
60 s a mode, resident memory flat after a 15 s warm-up) only with ``DUALPATH_SLOW=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.load import LoadPlan, ModeRun, move_all, run_mode, snapshot, tally_problems
from bench.load_services import Propagation, flip_and_follow, service_pair
from tests.conftest import create_database, drop_database
from tests.reliability.conftest import MEASURED
from tests.reliability.load_sabotage import dropped_heals_run

pytestmark = [pytest.mark.reliability]

FAST = LoadPlan(players=50, seconds=5.0, tally=10, warmup_s=2.0, flips=6)
FULL = LoadPlan(players=200, seconds=60.0, tally=20, warmup_s=15.0, flips=8)
# In 5 s at 50 players the shadow slots are taken by the busier domains, and each container
# write's shadow gives way to the next write of the same container in the loot flow, so the
# short run often compares no container call in shadow (in some runs it does). That gap alone
# is let pass there; every other check stays strict, and the 60 s run checks containers.
SHORT_SHADOW_GAP = "comparisons: none for container"


@pytest.fixture(scope="module")
def load_database() -> Iterator[str]:
    """A migrated database with 300 seeded players, for this module."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_load")
    try:
        upgrade(url)
        seed_world(url, players=300, seed=23)
        yield url
    finally:
        drop_database(url)


def load_proof(url: str, plan: LoadPlan) -> tuple[Propagation, dict[str, ModeRun]]:
    """Flag propagation between two services, then traffic in shadow and in live."""
    with service_pair(url) as (first, second):
        propagation = flip_and_follow(first, second, "profession", plan.flips)
    try:
        runs = {mode: run_mode(url, mode, plan) for mode in ("shadow", "live")}
    finally:
        move_all(url, "legacy")
    for run in runs.values():
        MEASURED.append(describe(plan, run))
    MEASURED.append(
        f"load: flag flip seen by the other process, median {propagation.median_ms:.0f} ms"
    )
    return propagation, runs


def describe(plan: LoadPlan, run: ModeRun) -> str:
    """One line of figures for the terminal summary."""
    s = run.summary
    growth = run.memory_growth
    return (
        f"load {run.mode} {plan.players}x{plan.seconds:.0f}s: {s['ops_per_s']:.0f} ops/s, "
        f"p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms, {run.comparisons} comparisons, "
        f"{s['divergences']} divergences ({s.get('noise_divergences', 0)} noise), "
        f"{sum(s['errors'].values())} errors, "
        f"RSS growth {growth * 100 if growth is not None else float('nan'):.1f}%, "
        f"exact {run.exact}, {len(run.problems)} problems"
    )


def problems(run: ModeRun, *prefixes: str) -> list[str]:
    """The run's problems of these kinds."""
    return [p for p in run.problems if p.startswith(prefixes)]


@pytest.fixture(scope="module")
def fast(load_database: str) -> tuple[Propagation, dict[str, ModeRun]]:
    """The fast variant's figures, measured once for the module."""
    return load_proof(load_database, FAST)


@pytest.fixture(scope="module")
def full(load_database: str) -> tuple[Propagation, dict[str, ModeRun]]:
    """The full variant's figures, measured once for the module (slow tests only)."""
    return load_proof(load_database, FULL)


class TestLoadFast:
    """50 simulated players for 5 s in shadow, then in live."""

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_hp_and_xp_exact(self, fast: Any, mode: str) -> None:
        run = fast[1][mode]
        assert problems(run, "tally") == []
        assert sum(p["hp_writes"] for p in run.summary["tally"]["players"].values()) > 0

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_no_errors_and_refusals_counted_apart(self, fast: Any, mode: str) -> None:
        run = fast[1][mode]
        assert problems(run, "errors", "traffic") == []
        assert run.summary["refused"].get("refuse: ValidationError", 0) > 0

    def test_flag_flip_reaches_the_other_process_within_1_s(self, fast: Any) -> None:
        propagation = fast[0]
        assert len(propagation.api_s) == FAST.flips
        assert propagation.max_ms < 1000

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_compared_on_the_right_paths(self, fast: Any, mode: str) -> None:
        run = fast[1][mode]
        assert [p for p in problems(run, "comparisons") if "outcome match" in p] == []

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_every_domain_compared_agreeing_and_kept_in_mode(self, fast: Any, mode: str) -> None:
        found = problems(fast[1][mode], "comparisons", "divergences", "flags", "timeouts")
        assert [p for p in found if not (mode == "shadow" and p == SHORT_SHADOW_GAP)] == []


@pytest.mark.slow
class TestLoadFull:
    """200 simulated players for 60 s in shadow, then in live."""

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_exact_without_errors(self, full: Any, mode: str) -> None:
        run = full[1][mode]
        assert problems(run, "tally", "errors", "traffic") == []

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_resident_memory_flat_after_warm_up(self, full: Any, mode: str) -> None:
        growth = full[1][mode].memory_growth
        assert growth is not None and growth < 0.10, full[1][mode].summary["memory"]

    def test_flag_flip_reaches_the_other_process_within_1_s(self, full: Any) -> None:
        assert full[0].max_ms < 1000

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_every_domain_compared_on_the_right_paths(self, full: Any, mode: str) -> None:
        run = full[1][mode]
        assert [p for p in problems(run, "comparisons") if "outcome match" in p] == []
        assert problems(run, "comparisons: none") == []

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    def test_zero_divergences_and_kept_in_mode(self, full: Any, mode: str) -> None:
        assert problems(full[1][mode], "comparisons", "divergences", "flags", "timeouts") == []


class TestTallyCatches:
    """The tally check is not blind: a write acknowledged but never made is found."""

    async def test_dropped_heal(self, load_database: str) -> None:
        before = snapshot(load_database)
        tally = await dropped_heals_run(load_database, every=5)
        found = tally_problems(tally, before, snapshot(load_database))
        assert any(" hp is " in p for p in found), found
        assert any("HPChanged events" in p for p in found), found
        assert not any(" xp is " in p for p in found), found
