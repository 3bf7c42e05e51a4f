"""The demo world generator: deterministic, connected, refuses to overwrite, clears."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from persistence.rules import MAX_STACKS
from persistence.seed import GAME_TABLES, SeedRefused, build_world, clear_world, seed_world

pytestmark = pytest.mark.contract


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _plain(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[list[Any]]]:
    """Rows with JSON wrappers unwrapped, so two builds compare by value."""
    unwrap = lambda v: getattr(v, "adapted", v)  # noqa: E731
    return {table: [[unwrap(v) for v in row] for row in rs] for table, rs in rows.items()}


@pytest.fixture
def world_url(database_url: str) -> Iterator[str]:
    """The session database holding a 200-player world."""
    seed_world(database_url, players=200, seed=3, replace=True)
    yield database_url
    clear_world(database_url)


class TestDeterminism:
    """The same seed gives the same rows, ids and timestamps included; another seed does not."""

    def test_same_seed_same_rows(self) -> None:
        first, second = build_world(50, seed=11), build_world(50, seed=11)
        assert _plain(first.rows) == _plain(second.rows)

    def test_other_seed_other_ids(self) -> None:
        first, second = build_world(50, seed=11), build_world(50, seed=12)
        ids = [{row[0] for row in w.rows["players"]} for w in (first, second)]
        assert not ids[0] & ids[1]

    def test_stored_world_matches_summary(self, world_url: str) -> None:
        summary = seed_world(world_url, players=200, seed=3, replace=True)
        stored = {row[0] for row in _query(world_url, "SELECT player_id::text FROM players")}
        assert stored == {str(pid) for pid in summary.player_ids}
        for table, count in summary.counts.items():
            assert _query(world_url, f"SELECT count(*) FROM {table}")[0][0] == count


class TestShape:
    """Enough rooms, connected zones with start rooms, varied players within the rules."""

    def test_rooms_and_zones(self, world_url: str) -> None:
        assert _query(world_url, "SELECT count(*) FROM rooms")[0][0] >= 100
        zones = _query(world_url, "SELECT zone_id, start_room_id FROM zones")
        assert len(zones) >= 4
        assert all(start is not None and start.startswith(zone + "_") for zone, start in zones)

    def test_exits_go_both_ways(self, world_url: str) -> None:
        exits = set(_query(world_url, "SELECT room_id, target_room_id FROM room_exits"))
        assert exits and all((target, room) in exits for room, target in exits)

    def test_every_room_reachable_from_any_start(self, world_url: str) -> None:
        graph: dict[str, set[str]] = defaultdict(set)
        for room, target in _query(world_url, "SELECT room_id, target_room_id FROM room_exits"):
            graph[room].add(target)
        start = _query(world_url, "SELECT start_room_id FROM zones ORDER BY zone_id")[0][0]
        seen, queue = {start}, deque([start])
        while queue:
            for nxt in graph[queue.popleft()] - seen:
                seen.add(nxt)
                queue.append(nxt)
        assert seen == {row[0] for row in _query(world_url, "SELECT room_id FROM rooms")}

    def test_players_within_rules(self, world_url: str) -> None:
        rows = _query(
            world_url,
            "SELECT jsonb_array_length(inventory), current_room_id IN (SELECT room_id FROM rooms),"
            " (stats->>'current_health')::int FROM players",
        )
        assert len(rows) == 200
        assert all(stacks <= MAX_STACKS and in_room for stacks, in_room, _ in rows)
        assert len({hp for *_, hp in rows}) > 20
        assert max(stacks for stacks, *_ in rows) > 3

    def test_professions_one_unavailable(self, world_url: str) -> None:
        rows = _query(world_url, "SELECT is_available FROM professions")
        assert 6 <= len(rows) <= 8 and not all(r[0] for r in rows) and any(r[0] for r in rows)

    def test_containers_of_every_kind(self, world_url: str) -> None:
        kinds = dict(_query(world_url, "SELECT source_type, count(*) FROM containers GROUP BY 1"))
        assert set(kinds) == {"environment", "equipment", "corpse"}
        decayed = _query(world_url, "SELECT count(*) FROM containers WHERE decay_at <= now()")
        fresh = _query(world_url, "SELECT count(*) FROM containers WHERE decay_at > now()")
        assert decayed[0][0] > 0 and fresh[0][0] > 0

    def test_contents_owned_by_their_container(self, world_url: str) -> None:
        rows = _query(
            world_url,
            "SELECT i.owner_type, i.owner_id = c.container_id::text FROM container_contents c"
            " JOIN item_instances i USING (item_instance_id)",
        )
        assert rows and all(kind == "container" and same for kind, same in rows)


class TestGuards:
    """Seeding never silently overwrites a world; clear_world empties every game table."""

    def test_refuses_existing_world(self, world_url: str) -> None:
        with pytest.raises(SeedRefused):
            seed_world(world_url, players=5, seed=99)
        assert _query(world_url, "SELECT count(*) FROM players")[0][0] == 200

    def test_clear_world(self, world_url: str) -> None:
        clear_world(world_url)
        for table in GAME_TABLES:
            assert _query(world_url, f"SELECT count(*) FROM {table}")[0][0] == 0
