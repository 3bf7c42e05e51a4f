"""What the router costs on top of calling a path directly, for a point read of a player.

Cases, each routed and direct in the same run against the same database:

- CPU per call at 1 in flight (``time.process_time``, so the legacy pool's threads count),
  direct and routed batches side by side in alternating order; overhead = the median of the
  per-pair differences.
- Throughput at 100 in flight (closed loop), direct and routed side by side in alternating
  order, eight pairs; ratio = the median of the per-pair ratios.
- The dispatch alone, on an in-memory path with no I/O, which isolates the router's own
  CPU from the database's noise: the async router, and the sync facade in legacy mode.

"Direct" calls the path the way the router does: the legacy method through the same thread
pool, the async method awaited. The flags are a real compiled ``DecisionTable`` (``player`` at
100 % of the mode), so the decision's cost is included.

Standalone: ``python -m bench.router_overhead postgresql://...`` (migrates the database, even
an empty one, and seeds it if it has no players).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2

from app.operations import build_registry
from bench.harness import closed_loop, cpu_us_per_call
from flags.decision import DecisionTable
from flags.model import FlagState, Mode
from routing import Operation, OperationRegistry, PersistenceRouter

BENCH = "router overhead"
Op = Callable[[int], Awaitable[object]]


def player_ids(url: str) -> list[Any]:
    """Up to 500 player ids; an empty database is migrated and seeded first."""
    from persistence.migrate import upgrade

    upgrade(url)  # nothing to do on a database at head
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT player_id FROM players ORDER BY player_id LIMIT 500")
        ids = [row[0] for row in cur.fetchall()]
    conn.close()
    if ids:
        return ids
    from persistence.seed import seed_world

    seed_world(url, players=1000, seed=42)
    return player_ids(url)


def flags_for(mode: Mode) -> DecisionTable:
    """Every domain in ``mode`` for every key, as a compiled table."""
    domains = build_registry().domains()
    return DecisionTable({d: FlagState(d, mode) for d in domains})


async def cpu_us(op: Op, calls: int) -> float:
    """CPU microseconds per call of ``op`` awaited one at a time."""
    begun = time.process_time()
    for i in range(calls):
        await op(i)
    return (time.process_time() - begun) / calls * 1e6


def _spread(values: list[float]) -> str:
    """The range of the per-pair figures, to show how noisy the run was."""
    return f"{min(values):.2f} .. {max(values):.2f}"


async def cpu_pair(direct: Op, routed: Op, *, calls: int, rounds: int) -> tuple[float, float, str]:
    """Median CPU µs per call of each, from adjacent batches in alternating order.

    The overhead is taken as the median of the per-round differences, so drift in the
    machine's load between rounds cancels out; ``routed`` is reported as direct + overhead.
    """
    await cpu_us(direct, calls // 4)
    await cpu_us(routed, calls // 4)
    directs, differences = [], []
    for k in range(rounds):
        order = ((direct, routed), (routed, direct))[k % 2]
        first, second = await cpu_us(order[0], calls), await cpu_us(order[1], calls)
        d, r = (first, second) if k % 2 == 0 else (second, first)
        directs.append(d)
        differences.append(r - d)
    base = statistics.median(directs)
    return base, base + statistics.median(differences), _spread(differences)


async def throughput_pair(
    direct: Op, routed: Op, *, seconds: float, rounds: int = 8
) -> tuple[float, float, str]:
    """Ops/s of each at 100 in flight, from adjacent rounds in alternating order.

    The ratio is the median of per-round ratios (robust to load drift between rounds);
    ``routed`` is reported as the median direct figure times that ratio.
    """
    directs, ratios = [], []
    for k in range(rounds):
        order = ((direct, routed), (routed, direct))[k % 2]
        first = await closed_loop(order[0], in_flight=100, seconds=seconds / rounds / 2)
        second = await closed_loop(order[1], in_flight=100, seconds=seconds / rounds / 2)
        d, r = (first, second) if k % 2 == 0 else (second, first)
        directs.append(d.ops_per_s)
        ratios.append(r.ops_per_s / d.ops_per_s)
    base = statistics.median(directs)
    return base, base * statistics.median(ratios), _spread(ratios)


def cpu_row(case: str, direct: float, routed: float, spread: str = "") -> dict[str, Any]:
    return {
        "bench": BENCH,
        "case": case,
        "direct_cpu_us": direct,
        "routed_cpu_us": routed,
        "overhead_cpu_us": routed - direct,
        "per-pair range": spread,
        "goal": "<= 10 µs",
    }


def throughput_row(case: str, direct: float, routed: float, spread: str) -> dict[str, Any]:
    return {
        "bench": BENCH,
        "case": case,
        "direct_ops_s": direct,
        "routed_ops_s": routed,
        "ratio": routed / direct,
        "per-pair range": spread,
        "goal": ">= 0.95x",
    }


async def measure_paths(url: str, seconds: float, calls: int) -> list[dict[str, Any]]:
    """The point read on the real paths, in legacy and in async mode."""
    from persistence.async_layer import AsyncPersistenceLayer
    from persistence.legacy import PersistenceLayer

    ids = player_ids(url)
    legacy = PersistenceLayer(url, pool_size=10)
    executor = ThreadPoolExecutor(16, thread_name_prefix="legacy")
    layer = AsyncPersistenceLayer(database_url=url, pool_size=10)
    await layer.start()
    loop = asyncio.get_running_loop()

    def pick(i: int) -> Any:
        return ids[(i * 7919) % len(ids)]

    direct: dict[Mode, Op] = {
        "legacy": lambda i: loop.run_in_executor(executor, legacy.get_player, pick(i)),
        "async": lambda i: layer.get_player_by_id(pick(i)),
    }
    rows: list[dict[str, Any]] = []
    try:
        for mode in ("legacy", "async"):
            router = PersistenceRouter(
                build_registry(), legacy=legacy, async_=layer, flags=flags_for(mode),
                legacy_executor=executor,
            )  # fmt: skip
            routed = routed_read(router, pick)
            cpu = await cpu_pair(direct[mode], routed, calls=calls, rounds=9)
            rows.append(cpu_row(f"{mode} mode, 1 in flight", *cpu))
            ops = await throughput_pair(direct[mode], routed, seconds=seconds)
            rows.append(throughput_row(f"{mode} mode, 100 in flight", *ops))
            await router.close()
    finally:
        await layer.close()
        legacy.close()
        executor.shutdown()
    return rows


def routed_read(router: PersistenceRouter, pick: Callable[[int], Any]) -> Op:
    """The point read through the router."""

    def op(i: int) -> Awaitable[object]:
        return router.get_player_by_id(pick(i))

    return op


class _Null:
    """An in-memory path: both names, no I/O."""

    def get(self, key: str) -> str:
        return key

    async def get_async(self, key: str) -> str:
        return key


def measure_dispatch(calls: int = 50_000) -> list[dict[str, Any]]:
    """The router's own CPU per call, on a path that does nothing."""
    null = _Null()
    registry = OperationRegistry([Operation("player", "get_async", "read", "key", "get")])
    router = PersistenceRouter(registry, legacy=null, async_=null, flags=flags_for("async"))
    sync = PersistenceRouter(registry, legacy=null, async_=null, flags=flags_for("legacy")).sync

    async def awaited(op: Callable[[str], Awaitable[str]]) -> float:
        return await cpu_us(lambda i: op("k"), calls)

    direct_async = statistics.median(asyncio.run(awaited(null.get_async)) for _ in range(5))
    routed_async = statistics.median(asyncio.run(awaited(router.get_async)) for _ in range(5))
    direct_sync = cpu_us_per_call(lambda: null.get("k"), calls)
    routed_sync = cpu_us_per_call(lambda: sync.get("k"), calls)
    sync.close()
    return [
        cpu_row("dispatch only, async mode (no I/O)", direct_async, routed_async),
        cpu_row("sync facade, legacy mode (no I/O)", direct_sync, routed_sync),
    ]


def run(url: str, seconds: float = 16.0, calls: int = 1000) -> list[dict[str, Any]]:
    """Every case; rows for the bench report."""
    rows = measure_dispatch()
    rows += asyncio.run(measure_paths(url, seconds, calls))
    return rows


def main(argv: list[str]) -> int:
    """``python -m bench.router_overhead URL``: print the rows as a table."""
    if len(argv) != 1:
        print("usage: python -m bench.router_overhead postgresql://...", file=sys.stderr)
        return 2
    from bench.report import table

    print(table(run(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
