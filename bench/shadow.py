"""What shadowing costs the caller, against legacy-only, all through the router.

Cases, each measured in the same run against legacy-only, in adjacent rounds of alternating
order (the ratio is the median of the per-round ratios, so load drift between rounds cancels
out); the runner is drained between rounds so one case's shadows do not run in the next.
Each case runs with every domain in ``shadow`` (legacy answers) and again in ``live`` (async
answers, legacy is the shadow):

- 100 %, 100 in flight: 80 % point reads, 20 % 1 HP damage writes; the share of the calls
  served that were compared, why the others were not, and the p99 ratio;
- 5 % (flags at percent=5), same mix;
- a point read's and a 1 HP damage write's caller p50 at 1 in flight.

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
from dataclasses import dataclass
from typing import Any

from app.operations import build_registry, shadow_writes
from bench.harness import closed_loop
from bench.paths import prepare
from bench.router_overhead import player_ids
from flags.decision import DecisionTable
from flags.model import FlagState, Mode
from routing import PersistenceRouter
from routing.shadowing import RunnerConfig, ShadowRunner
from shadow.coverage import Coverage

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
            router,
            self.shadow.engine,
            shadow_writes(),
            RunnerConfig(),
            coverage=self.shadow.coverage,
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


def point_write(router: PersistenceRouter, players: list[Any]) -> Op:
    def op(i: int) -> Awaitable[object]:
        return router.damage_player(players[(i * 7919) % len(players)], 1, "bench")

    return op


def point_read(router: PersistenceRouter, players: list[Any]) -> Op:
    def op(i: int) -> Awaitable[object]:
        return router.get_player_by_id(players[(i * 7919) % len(players)].player_id)

    return op


@dataclass
class Paired:
    """One case, in alternating rounds against legacy-only: per-round figures of both."""

    base: list[float]
    shadowed: list[float]
    base_p99: list[float]
    shadowed_p99: list[float]

    def ratios(self, p99: bool = False) -> list[float]:
        """The per-round ratios, shadowed over legacy-only."""
        shadowed, base = (self.shadowed_p99, self.base_p99) if p99 else (self.shadowed, self.base)
        return [s / b for s, b in zip(shadowed, base, strict=True)]


async def paired(
    paths: Paths, base: Op, shadowed: Op, *, in_flight: int, seconds: float, latency: bool
) -> Paired:
    """Alternating rounds of ``seconds`` in all per side; each round's figure for each side."""
    found = Paired([], [], [], [])
    for k in range(ROUNDS):
        order = (base, shadowed) if k % 2 == 0 else (shadowed, base)
        figures = []
        for op in order:
            m = await closed_loop(op, in_flight=in_flight, seconds=seconds / ROUNDS)
            figures.append((m.median_us if latency else m.ops_per_s, m.p99_us))
            await paths.drain()
        (b, b99), (s, s99) = figures if k % 2 == 0 else figures[::-1]
        found.base.append(b)
        found.shadowed.append(s)
        found.base_p99.append(b99)
        found.shadowed_p99.append(s99)
    return found


def row(case: str, unit: str, found: Paired, goal: str) -> dict[str, Any]:
    """One case's row for the report: medians, the median per-round ratio and its range."""
    ratios = found.ratios()
    return {
        "bench": BENCH,
        "case": case,
        f"legacy_{unit}": statistics.median(found.base),
        f"shadow_{unit}": statistics.median(found.shadowed),
        "ratio": statistics.median(ratios),
        "per-round range": f"{min(ratios):.2f} .. {max(ratios):.2f}",
        "goal": goal,
    }


#: (case, workload, percent, in flight, unit, goal): each run for ``shadow`` and ``live``.
CASES = (
    ("100 %, 100 in flight, 80/20 mix", "mixed", 100, 100, "ops_s", ">= 0.6x"),
    ("5 %, 100 in flight, 80/20 mix", "mixed", 5, 100, "ops_s", ">= 0.97x"),
    ("read p50, 1 in flight", "point_read", 100, 1, "p50_us", "<= 1.15x"),
    ("write p50, 1 in flight", "point_write", 100, 1, "p50_us", "<= 1.3x"),
)
WORKLOADS = {"mixed": lambda r, p: mixed(r, p), "point_read": lambda r, p: point_read(r, p),
             "point_write": lambda r, p: point_write(r, p)}  # fmt: skip


async def measure(url: str, seconds: float) -> list[dict[str, Any]]:
    """Every case in ``shadow`` and in ``live`` against legacy-only; rows for the report."""
    ids = player_ids(url)  # migrates and seeds an empty database first
    prepare(url)
    paths = Paths(url)
    await paths.start()
    try:
        players = [await paths.async_layer.get_player_by_id(p) for p in ids[:500]]
        legacy = paths.router(flags("legacy"))
        rows = []
        for mode in ("shadow", "live"):
            for case, name, percent, in_flight, unit, goal in CASES:
                router = paths.router(flags(mode, percent))
                workload = WORKLOADS[name]
                before = _counts(paths.runners)
                by_operation = _by_operation(paths.shadow.coverage)
                found = await paired(
                    paths, workload(legacy, players), workload(router, players),
                    in_flight=in_flight, seconds=seconds, latency=unit == "p50_us",
                )  # fmt: skip
                rows.append({
                    **row(f"{mode} {case}", unit, found, goal),
                    **_since(before, paths.runners),
                    **({"p99 ratio": _p99(found)} if in_flight > 1 else {}),
                    **({"compared by operation": _shares(by_operation, paths.shadow.coverage)}
                       if percent == 100 and in_flight > 1 else {}),
                })  # fmt: skip
        return rows
    finally:
        await paths.close()


def _by_operation(coverage: Coverage) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Per operation: the calls served, and those compared (neither skipped nor unhealthy)."""
    served: Counter[tuple[str, str]] = Counter(coverage.calls)
    compared = Counter(served)
    for (domain, operation, _why), n in (*coverage.skips.items(), *coverage.health.items()):
        compared[(domain, operation)] -= n
    return served, compared


def _shares(before: tuple[Counter[tuple[str, str]], ...], coverage: Coverage) -> str:
    """The share compared of each operation's calls since ``before``: is shedding even?"""
    served, compared = _by_operation(coverage)
    served.subtract(before[0])
    compared.subtract(before[1])
    return (
        ", ".join(
            f"{operation} {compared[(domain, operation)] / n:.0%} of {n:,}"
            for (domain, operation), n in sorted(served.items())
            if n > 0
        )
        or "-"
    )


def _p99(found: Paired) -> str:
    ratios = found.ratios(p99=True)
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f} .. {max(ratios):.2f})"


def _counts(runners: list[ShadowRunner]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for runner in runners:
        counts.update(runner.skipped)
        counts["compared"] += runner.compared
        counts["served"] += runner.served
    return counts


def _since(before: Counter[str], runners: list[ShadowRunner]) -> dict[str, Any]:
    """Of one case's calls served in shadow/live: the share compared, why the others were not."""
    now = _counts(runners)
    now.subtract(before)
    compared, served = now.pop("compared", 0), now.pop("served", 0)
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(now.items()) if n)
    share = f"{compared / served:.1%} of {served:,}" if served else "-"
    return {"compared": share, "skipped": skipped or "-"}


def run(url: str, seconds: float = 10.0) -> list[dict[str, Any]]:
    """Every case; rows for the bench report."""
    return asyncio.run(measure(url, seconds))


def main(argv: list[str]) -> int:
    """``python -m bench.shadow URL [SECONDS]``: print the rows as a table."""
    if len(argv) not in (1, 2):
        print("usage: python -m bench.shadow postgresql://... [seconds per case]", file=sys.stderr)
        return 2
    from bench.report import table

    print(table(run(argv[0], *(float(a) for a in argv[1:]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
