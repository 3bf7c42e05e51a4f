"""What A/A calibration costs the caller, against the same shadowing without it.

Both routers shadow every call (100 % of keys, 100 in flight, 80 % point reads and 20 % 1 HP
damage writes, as in ``bench.shadow``); one also calibrates a share of the shadowed calls (the
primary's own path runs again as a second shadow, rolled back). Adjacent rounds alternate the
order, the ratio is the median of the per-round ratios, and the runners are drained between
rounds. Goal: at 1 % calibration, throughput >= 0.97x of shadowing without it. Two cases more:
1 % with the default warm-up (``DUALPATH_CALIBRATION_WARMUP``, 40 A/A runs per operation on a
fresh runner), and, for scale, an operation that never stops warming up: every call's A/A run
first, then its comparison, as the first 40 calls of each operation are.

Standalone: ``python -m bench.calibration postgresql://...`` (seeds the database if it has no
players).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from typing import Any

from app.operations import build_registry, shadow_writes
from bench.paths import prepare
from bench.router_overhead import player_ids
from bench.shadow import Paths, flags, mixed, paired
from flags.decision import DecisionTable
from routing import PersistenceRouter
from routing.shadowing import CalibrationConfig, RunnerConfig, ShadowRunner

BENCH = "calibration cost"


#: (percent, warm-up, goal) per case; 10**9: never done warming up.
CASES: tuple[tuple[float, int, str], ...] = (
    (1.0, 0, ">= 0.97x"),
    (1.0, 40, ">= 0.97x"),
    (100.0, 0, "for scale"),
    (1.0, 10**9, "for scale"),
)


def calibrated(
    paths: Paths, table: DecisionTable, percent: float, warmup: int = 0
) -> PersistenceRouter:
    """A router like ``Paths.router``, whose runner calibrates ``percent`` of shadowed calls
    after ``warmup`` A/A runs of each operation."""
    router = PersistenceRouter(
        build_registry(),
        legacy=paths.legacy,
        async_=paths.async_layer,
        flags=table,
        legacy_executor=paths.executor,
    )
    runner = ShadowRunner.for_router(
        router,
        paths.shadow.engine,
        shadow_writes(),
        RunnerConfig(),
        calibration=CalibrationConfig(percent, warmup=warmup),
    )
    runner.install(router)
    paths.runners.append(runner)
    return router


async def measure(url: str, seconds: float) -> list[dict[str, Any]]:
    """Each calibration share against none; rows for the report."""
    ids = player_ids(url)  # migrates and seeds an empty database first
    prepare(url)
    paths = Paths(url)
    await paths.start()
    try:
        players = [await paths.async_layer.get_player_by_id(p) for p in ids[:500]]
        plain = paths.router(flags("shadow"))
        rows = []
        for percent, warmup, goal in CASES:
            router = calibrated(paths, flags("shadow"), percent, warmup)
            runner = paths.runners[-1]
            found = await paired(
                paths, mixed(plain, players), mixed(router, players),
                in_flight=100, seconds=seconds, latency=False,
            )  # fmt: skip
            ratios = found.ratios()
            rows.append({
                "bench": BENCH,
                "case": f"{percent:g} % calibrated{_warming(warmup)}, 100 % shadowed,"
                        " 100 in flight",
                "uncalibrated_ops_s": statistics.median(found.base),
                "calibrated_ops_s": statistics.median(found.shadowed),
                "ratio": statistics.median(ratios),
                "per-round range": f"{min(ratios):.2f} .. {max(ratios):.2f}",
                "goal": goal,
                "A/A runs": runner.calibration.calibrated,
            })  # fmt: skip
        return rows
    finally:
        await paths.close()


def _warming(warmup: int) -> str:
    if not warmup:
        return ""
    return " (always warming up)" if warmup >= 10**9 else f" (warm-up {warmup})"


def run(url: str, seconds: float = 24.0) -> list[dict[str, Any]]:
    """Every case; rows for the bench report."""
    return asyncio.run(measure(url, seconds))


def main(argv: list[str]) -> int:
    """``python -m bench.calibration URL``: print the rows as a table."""
    if len(argv) != 1:
        print("usage: python -m bench.calibration postgresql://...", file=sys.stderr)
        return 2
    from bench.report import table

    print(table(run(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
