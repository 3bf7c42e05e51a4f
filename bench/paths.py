"""Legacy path against async path, with raw asyncpg running the same SQL as the limit.

Cases: a point read, the damage update and the players in a room, each at 1 and at 100 in
flight. The legacy path is called the way the router calls it: through a thread pool.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import psycopg2

from bench.harness import Measurement, closed_loop

POINT_READ = "SELECT * FROM players WHERE player_id = $1"
IN_ROOM = "SELECT * FROM players WHERE current_room_id = $1 ORDER BY lower(name), player_id"
DAMAGE = """
WITH old AS (
    SELECT player_id, (stats->>'current_health')::int AS hp, (stats->>'max_health')::int AS max_hp
    FROM players WHERE player_id = $1 FOR UPDATE
)
UPDATE players p
SET stats = jsonb_set(p.stats, '{current_health}',
                      to_jsonb(GREATEST(-10, LEAST(old.max_hp, old.hp - $2))))
FROM old WHERE p.player_id = old.player_id
RETURNING old.hp AS old_hp, (p.stats->>'current_health')::int AS new_hp, old.max_hp
"""


def prepare(url: str) -> tuple[list[Any], list[str]]:
    """Give every player a huge max HP so damage never clamps; return player and room ids."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE players SET stats = stats || jsonb_build_object("
            "'max_health', 1000000000, 'current_health', 1000000000)"
        )
        cur.execute("SELECT player_id FROM players ORDER BY player_id")
        players = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT DISTINCT current_room_id FROM players ORDER BY 1")
        rooms = [r[0] for r in cur.fetchall()]
    conn.close()
    return players, rooms


async def _raw_pool(url: str, size: int) -> asyncpg.Pool:
    async def init(conn: asyncpg.Connection) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(
                kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

    return await asyncpg.create_pool(url, min_size=size, max_size=size, init=init)


async def run_async(url: str, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Measure every case on the three paths and return one row per case."""
    from persistence.async_layer import AsyncPersistenceLayer
    from persistence.legacy import PersistenceLayer

    player_ids, rooms = prepare(url)
    legacy = PersistenceLayer(url, pool_size=10)
    executor = ThreadPoolExecutor(16, thread_name_prefix="legacy")
    layer = AsyncPersistenceLayer(database_url=url, pool_size=10)
    await layer.start()
    raw = await _raw_pool(url, 10)
    loop = asyncio.get_running_loop()
    rng = random.Random(1)
    players = {p: legacy.get_player(p) for p in player_ids[:200]}
    ids = list(players)

    def pick(i: int) -> Any:
        return ids[(i * 7919) % len(ids)]

    def room(i: int) -> str:
        return rooms[(i * 31) % len(rooms)]

    cases: dict[str, dict[str, Callable[[int], Awaitable[object]]]] = {
        "point read": {
            "legacy": lambda i: loop.run_in_executor(executor, legacy.get_player, pick(i)),
            "async": lambda i: layer.get_player_by_id(pick(i)),
            "raw asyncpg": lambda i: raw.fetchrow(POINT_READ, pick(i)),
        },
        "damage update": {
            "legacy": lambda i: loop.run_in_executor(
                executor, legacy.damage_player, players[pick(i)], 1, "bench"
            ),
            "async": lambda i: layer.damage_player(players[pick(i)], 1, "bench"),
            "raw asyncpg": lambda i: raw.fetchrow(DAMAGE, pick(i), 1),
        },
        "players in a room": {
            "legacy": lambda i: loop.run_in_executor(executor, legacy.get_players_in_room, room(i)),
            "async": lambda i: layer.get_players_in_room(room(i)),
            "raw asyncpg": lambda i: raw.fetch(IN_ROOM, room(i)),
        },
    }
    rng.shuffle(ids)
    rows = []
    try:
        for case, paths in cases.items():
            for in_flight in (1, 100):
                results = {
                    name: await closed_loop(op, in_flight=in_flight, seconds=seconds)
                    for name, op in paths.items()
                }
                rows.append(_row(case, in_flight, results))
    finally:
        await raw.close()
        await layer.close()
        legacy.close()
        executor.shutdown()
    return rows


def _row(case: str, in_flight: int, r: dict[str, Measurement]) -> dict[str, Any]:
    legacy, layer, raw = r["legacy"], r["async"], r["raw asyncpg"]
    return {
        "bench": "legacy vs async vs raw asyncpg",
        "case": case,
        "in flight": in_flight,
        "legacy ops/s": legacy.ops_per_s,
        "async ops/s": layer.ops_per_s,
        "raw asyncpg ops/s": raw.ops_per_s,
        "legacy p50 µs": legacy.median_us,
        "async p50 µs": layer.median_us,
        "raw p50 µs": raw.median_us,
        "async / legacy": layer.ops_per_s / legacy.ops_per_s,
        "async / raw": layer.ops_per_s / raw.ops_per_s,
        "goal": ">= 1.0x legacy" + (", >= 0.7x raw" if in_flight == 100 else ""),
    }


def run(url: str) -> list[dict[str, Any]]:
    """Synchronous entry point for the bench runner."""
    return asyncio.run(run_async(url))
