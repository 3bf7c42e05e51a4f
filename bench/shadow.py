"""What shadowing costs the caller, against legacy-only, all through the router.

Cases, each measured in the same run against legacy-only, in adjacent rounds of alternating
order (the ratio is the median of the per-round ratios, so load drift between rounds cancels
out); the runner is drained between rounds so one case's shadows do not run in the next:

- 100 % shadowed, 100 in flight: 80 % point reads, 20 % 1 HP damage writes;
- 5 % shadowed (flags at percent=5), same mix;
- a point read's caller p50 at 1 in flight.

The paths, engine and store are the real ones (the store writes to this database; with
both paths correct nothing is recorded). Every player gets a huge max HP first so damage
never clamps.

Standalone: ``python -m bench.shadow postgresql://...`` (migrates the database, even an
empty one, and seeds it if it has no players).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.operations import build_registry, shadow_writes
from bench.harness import closed_loop
from bench.paths import prepare
from bench.router_overhead import player_ids
from flags.decision import DecisionTable
from flags.model import FlagState, Mode
from routing import PersistenceRouter
from routing.shadowing import RunnerConfig, ShadowRunner

BENCH = "shadow vs legacy-only"
Op = Callable[[int], Awaitable[object]]
ROUNDS = 6


def flags(mode: Mode, percent: int = 100) -> DecisionTable:
    """Every domain in ``mode`` for ``percent`` of the keys (legacy for the rest)."""
    return DecisionTable({d: FlagState(d, mode, percent) for d in build_registry().domains()})


class Paths:
    """The two real paths, a thread pool and a shadow engine, shared by every router."""

    def __init__(self, url: str) -> None:
        from app.bootstrap import make_shadow
        from app.settings import Settings
        from persistence.async_layer import AsyncPersistenceLayer
        from persistence.events import EventBus
        from persistence.legacy import PersistenceLayer

        events = EventBus()
        self.legacy = PersistenceLayer(url, event_bus=events, pool_size=10)
        self.async_layer = AsyncPersistenceLayer(events, database_url=url, pool_size=10)
        self.executor = ThreadPoolExecutor(16, thread_name_prefix="legacy")
        self.shadow = make_shadow(Settings(DATABASE_URL=url), url)
        self.runners: list[ShadowRunner] = []

    async def start(self) -> None:
        await self.async_layer.start()
        self.shadow.start()

    def router(self, table: DecisionTable) -> PersistenceRouter:
        """A router over the paths with these flags, and a shadow runner plugged in."""
        router = PersistenceRouter(
            build_registry(),
            legacy=self.legacy,
            async_=self.async_layer,
            flags=table,
            legacy_executor=self.executor,
        )
        runner = ShadowRunner.for_router(
            router, self.shadow.engine, shadow_writes(), RunnerConfig()
        )
        runner.install(router)
        self.runners.append(runner)
        return router

    async def drain(self) -> None:
        for runner in self.runners:
            await runner.drain()

    async def close(self) -> None:
        await self.drain()
        await self.shadow.stop()
        await self.async_layer.close()
        self.legacy.close()
        self.executor.shutdown()


def mixed(router: PersistenceRouter, players: list[Any]) -> Op:
    """80 % point reads, 20 % 1 HP damage, spread over the players."""

    def op(i: int) -> Awaitable[object]:
        player = players[(i * 7919) % len(players)]
        if i % 5 == 0:
            return router.damage_player(player, 1, "bench")
        return router.get_player_by_id(player.player_id)

    return op


def point_read(router: PersistenceRouter, players: list[Any]) -> Op:
    def op(i: int) -> Awaitable[object]:
        return router.get_player_by_id(players[(i * 7919) % len(players)].player_id)

    return op


async def paired(
    paths: Paths, base: Op, shadowed: Op, *, in_flight: int, seconds: float, latency: bool
) -> tuple[float, float, list[float]]:
    """Alternating rounds; the median base figure, the shadowed one, the per-round ratios."""
    bases, ratios = [], []
    for k in range(ROUNDS):
        order = (base, shadowed) if k % 2 == 0 else (shadowed, base)
        figures = []
        for op in order:
            m = await closed_loop(op, in_flight=in_flight, seconds=seconds / ROUNDS / 2)
            figures.append(m.median_us if latency else m.ops_per_s)
            await paths.drain()
        b, s = figures if k % 2 == 0 else figures[::-1]
        bases.append(b)
        ratios.append(s / b)
    middle = statistics.median(bases)
    return middle, middle * statistics.median(ratios), ratios


def row(
    case: str, unit: str, base: float, shadowed: float, ratios: list[float], goal: str
) -> dict[str, Any]:
    """One case's row for the report."""
    return {
        "bench": BENCH,
        "case": case,
        f"legacy_{unit}": base,
        f"shadow_{unit}": shadowed,
        "ratio": shadowed / base,
        "per-round range": f"{min(ratios):.2f} .. {max(ratios):.2f}",
        "goal": goal,
    }


async def measure(url: str, seconds: float) -> list[dict[str, Any]]:
    """Every case against legacy-only; rows for the report."""
    ids = player_ids(url)  # migrates and seeds an empty database first
    prepare(url)
    paths = Paths(url)
    await paths.start()
    try:
        players = [await paths.async_layer.get_player_by_id(p) for p in ids[:500]]
        legacy = paths.router(flags("legacy"))
        full = paths.router(flags("shadow"))
        some = paths.router(flags("shadow", 5))
        cases = [
            ("100 % shadowed, 100 in flight", mixed, full, 100, "ops_s", ">= 0.45x"),
            ("5 % shadowed, 100 in flight", mixed, some, 100, "ops_s", ">= 0.9x"),
            ("read p50, 1 in flight", point_read, full, 1, "p50_us", "<= 1.1x"),
        ]
        rows = []
        for case, workload, router, in_flight, unit, goal in cases:
            before = _counts(paths.runners)
            figures = await paired(
                paths, workload(legacy, players), workload(router, players),
                in_flight=in_flight, seconds=seconds, latency=unit == "p50_us",
            )  # fmt: skip
            rows.append({**row(case, unit, *figures, goal), **_since(before, paths.runners)})
        return rows
    finally:
        await paths.close()


def _counts(runners: list[ShadowRunner]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for runner in runners:
        counts.update(runner.skipped)
        counts["compared"] += runner.compared
    return counts


def _since(before: Counter[str], runners: list[ShadowRunner]) -> dict[str, Any]:
    """How many calls of one case were compared, and why the others were skipped."""
    now = _counts(runners)
    now.subtract(before)
    compared = now.pop("compared", 0)
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(now.items()) if n)
    return {"compared": compared, "skipped": skipped or "-"}


def run(url: str, seconds: float = 12.0) -> list[dict[str, Any]]:
    """Every case; rows for the bench report."""
    return asyncio.run(measure(url, seconds))


def main(argv: list[str]) -> int:
    """``python -m bench.shadow URL``: print the rows as a table."""
    if len(argv) != 1:
        print("usage: python -m bench.shadow postgresql://...", file=sys.stderr)
        return 2
    from bench.report import table

    print(table(run(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
