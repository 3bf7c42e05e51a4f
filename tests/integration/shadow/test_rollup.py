"""The per-minute rollup is stored with each flush and read back for the dashboard."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shadow import IgnoreRule, Observation, Shadow
from tests.integration.shadow.conftest import Op, async_, diverge, legacy

pytestmark = pytest.mark.integration

GET = Op()
LIST = Op(name="list_players")


async def observe_mix(system: Shadow) -> None:
    """get: 3 matches, 1 divergence, 1 ignored, 1 timeout; list: 2 matches with an error.

    All in one minute: if the minute is about to turn, wait for it first.
    """
    second = datetime.now(UTC).second + datetime.now(UTC).microsecond / 1e6
    if second > 58.0:
        await asyncio.sleep(60.1 - second)
    system.rules.replace([IgnoreRule("players", "get_player", "root['clock']", "r", "ops")])
    for _ in range(3):
        system.engine.observe(GET, legacy(1), async_(1), mode="shadow")
    diverge(system)
    system.engine.observe(GET, legacy({"clock": 1}), async_({"clock": 2}), mode="shadow")
    late = Observation("async", None, TimeoutError(), 0.25)
    system.engine.observe(GET, legacy(1), late, mode="shadow", timed_out=True)
    for _ in range(2):
        err = Observation("legacy", None, KeyError("k"), 0.002)
        system.engine.observe(
            LIST, err, Observation("async", None, KeyError("k"), 0.001), mode="live"
        )


class TestRollup:
    """Counts, errors and latency percentiles per minute, summed over operations or not."""

    async def test_rows_per_operation(self, system: Shadow) -> None:
        await observe_mix(system)
        await system.divergences.flush()
        (row,) = await system.divergences.rollup("players", operation="get_player")
        assert (row.calls, row.comparisons, row.divergences, row.ignored, row.timeouts) == (
            6,
            5,
            1,
            1,
            1,
        )
        assert row.errors == {"legacy": 0, "async": 1}
        assert row.latency_mean_ms["legacy"] == pytest.approx(3.0)
        assert 2.0 < row.latency_p50_ms["legacy"] <= 5.0  # type: ignore[operator]
        assert row.latency_p99_ms["async"] > 200.0  # type: ignore[operator]
        assert row.minute.second == 0 and row.minute <= datetime.now(UTC)

    async def test_rows_summed_over_operations(self, system: Shadow) -> None:
        await observe_mix(system)
        await system.divergences.flush()
        (row,) = await system.divergences.rollup("players")
        assert row.operation is None
        assert (row.calls, row.errors["legacy"], row.errors["async"]) == (8, 2, 3)

    async def test_flushes_accumulate(self, system: Shadow, db: asyncpg.Connection) -> None:
        await observe_mix(system)
        await system.divergences.flush()
        await observe_mix(system)
        await system.divergences.flush()
        rows = await system.divergences.rollup("players", operation="get_player")
        assert sum(r.calls for r in rows) == 12
        hist = await db.fetchval(
            "SELECT sum(x) FROM shadow_rollup_minute, unnest(legacy_latency_hist) AS x"
            " WHERE operation = 'get_player'"
        )
        assert hist == 12

    async def test_coverage_is_kept_and_added_up_across_flushes(self, system: Shadow) -> None:
        """Served calls, skips by reason and the shadow's health, per operation and summed."""
        await observe_mix(system)
        for reasons in (["saturated", "raced"], ["saturated", "restore_failed"]):
            for reason in reasons:
                system.coverage.served("players", "get_player")
                system.coverage.skipped("players", "get_player", reason)
            await system.divergences.flush()
        rows = await system.divergences.rollup("players", operation="get_player")
        assert sum(r.served for r in rows) == 4
        skipped: Counter[str] = Counter()
        health: Counter[str] = Counter()
        for r in rows:
            skipped.update(r.skipped)
            health.update(r.health)
        assert skipped == {"saturated": 2, "raced": 1, "restore_failed": 1}
        assert health == {"timeout": 1}
        starts = {"players": datetime.now(UTC) - timedelta(minutes=5)}
        [get] = [
            t
            for t in await system.divergences.operation_totals(starts)
            if t.operation == "get_player"
        ]
        assert (get.served, get.skipped, get.health) == (4, dict(skipped), {"timeout": 1})

    async def test_since_and_domain_filter(self, system: Shadow) -> None:
        await observe_mix(system)
        await system.divergences.flush()
        assert await system.divergences.rollup("items") == []
        future = datetime.now(UTC) + timedelta(minutes=2)
        assert await system.divergences.rollup("players", since=future) == []
        assert len(await system.divergences.rollup(since=timedelta(minutes=5))) == 1
