"""CPU µs per call that each path costs its caller, units of work included.

CPU time of the calling process (``time.process_time``), so the server's time and the waits
are left out: what the path's own Python (pool, unit of work, mapping) costs per call. Cases:
a point read, the damage update, and a unit of work of one read and one damage, committed,
on the legacy path and on the async path; sequential calls after a warm-up.

To compare two commits, run this module from a checkout of each in turn, alternating which
goes first, against one seeded database: ``python -m bench.unit_cost URL [CALLS]`` prints one
JSON object of µs per case.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.paths import prepare
from persistence.async_layer import AsyncPersistenceLayer
from persistence.legacy import PersistenceLayer
from persistence.models import Player

WARMUP = 200


def cpu_us(call: Callable[[], object], calls: int) -> float:
    """CPU µs per ``call()`` of this process, after a warm-up."""
    for _ in range(WARMUP):
        call()
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls * 1e6


async def cpu_us_async(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """CPU µs per ``await call()`` of this process, after a warm-up."""
    for _ in range(WARMUP):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


def legacy_unit(legacy: PersistenceLayer, player: Player) -> None:
    """A read and a damage in one legacy unit of work, committed."""
    with legacy.transaction() as unit:
        legacy.get_player(player.player_id)
        legacy.damage_player(player, 1, "bench")
        unit.commit()


async def async_unit(layer: AsyncPersistenceLayer, player: Player) -> None:
    """A read and a damage in one async unit of work, committed."""
    async with layer.transaction() as unit:
        await layer.get_player_by_id(player.player_id)
        await layer.damage_player(player, 1, "bench")
        await unit.commit()


async def measure(url: str, calls: int) -> dict[str, float]:
    """µs per call of each case."""
    ids, _ = prepare(url)
    legacy = PersistenceLayer(url, pool_size=4)
    layer = AsyncPersistenceLayer(database_url=url, pool_size=4)
    await layer.start()
    player = legacy.get_player(ids[0])
    assert player is not None
    try:
        return {
            "legacy point read": cpu_us(lambda: legacy.get_player(ids[0]), calls),
            "legacy damage": cpu_us(lambda: legacy.damage_player(player, 1, "bench"), calls),
            "legacy unit of work": cpu_us(lambda: legacy_unit(legacy, player), calls // 2),
            "async point read": await cpu_us_async(lambda: layer.get_player_by_id(ids[0]), calls),
            "async damage": await cpu_us_async(
                lambda: layer.damage_player(player, 1, "bench"), calls
            ),
            "async unit of work": await cpu_us_async(lambda: async_unit(layer, player), calls // 2),
        }
    finally:
        await layer.close()
        legacy.close()


def main(argv: list[str]) -> int:
    """``python -m bench.unit_cost URL [CALLS]``."""
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    calls = int(argv[1]) if len(argv) == 2 else 1000
    result: Any = asyncio.run(measure(argv[0], calls))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
