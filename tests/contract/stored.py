"""The stored state, read and arranged with plain psycopg2, independently of either path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from persistence.seed import COLUMNS, GAME_TABLES, seed_world

Row = dict[str, Any]

# Primary keys, to dump every table in a stable order.
ORDER_BY = {
    "users": "user_id",
    "professions": "profession_id",
    "zones": "zone_id",
    "rooms": "room_id",
    "room_exits": "room_id, direction",
    "players": "player_id",
    "item_prototypes": "prototype_id",
    "item_instances": "item_instance_id",
    "containers": "container_id",
    "container_contents": "container_id, position",
}
TIMESTAMPS = frozenset({"created_at", "updated_at", "added_at", "last_active"})


class StoredState:
    """An autocommit connection of its own; every read sees only committed data."""

    def __init__(self, database_url: str) -> None:
        self._conn = psycopg2.connect(database_url)
        self._conn.autocommit = True
        psycopg2.extras.register_uuid(conn_or_curs=self._conn)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def rows(self, query: str, params: Any = None) -> list[Row]:
        """Every row of ``query`` as a dict."""
        with self._conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(query, params)
            return [dict(row) for row in cur.fetchall()]

    def one(self, query: str, params: Any = None) -> Row | None:
        """The first row of ``query``, or None."""
        found = self.rows(query, params)
        return found[0] if found else None

    def value(self, query: str, params: Any = None) -> Any:
        """The first column of the first row."""
        row = self.one(query, params)
        assert row is not None, query
        return next(iter(row.values()))

    def execute(self, query: str, params: Any = None) -> None:
        """Arrange state for a test (committed at once)."""
        with self._conn.cursor() as cur:
            cur.execute(query, params)

    # --- players ---------------------------------------------------------------------------

    def player(self, player_id: UUID) -> Row | None:
        """The raw ``players`` row."""
        return self.one("SELECT * FROM players WHERE player_id = %s", (player_id,))

    def players(self, where: str = "true", params: Any = None) -> list[Row]:
        """Raw player rows, in the contract's list order."""
        return self.rows(
            f"SELECT * FROM players WHERE {where} ORDER BY lower(name), player_id", params
        )

    def set_stats(self, player_id: UUID, **stats: Any) -> None:
        """Overwrite some keys of a player's stats."""
        self.execute(
            "UPDATE players SET stats = stats || %s WHERE player_id = %s",
            (psycopg2.extras.Json(stats), player_id),
        )

    def set_xp(self, player_id: UUID, xp: int, level: int) -> None:
        """Overwrite a player's experience and level."""
        self.execute(
            "UPDATE players SET experience_points = %s, level = %s WHERE player_id = %s",
            (xp, level, player_id),
        )

    # --- world -----------------------------------------------------------------------------

    def exits(self, room_id: str) -> dict[str, str]:
        """A room's exits as ``{direction: target}``."""
        rows = self.rows(
            "SELECT direction, target_room_id FROM room_exits WHERE room_id = %s", (room_id,)
        )
        return {r["direction"]: r["target_room_id"] for r in rows}

    def container(self, container_id: UUID) -> Row | None:
        """The raw ``containers`` row plus ``items`` in slot order."""
        row = self.one("SELECT * FROM containers WHERE container_id = %s", (container_id,))
        if row is not None:
            row["items"] = self.container_items(container_id)
        return row

    def container_items(self, container_id: UUID) -> list[str]:
        """Item ids in a container, in slot order."""
        rows = self.rows(
            "SELECT item_instance_id FROM container_contents WHERE container_id = %s"
            " ORDER BY position",
            (container_id,),
        )
        return [r["item_instance_id"] for r in rows]

    def item(self, item_instance_id: str) -> Row | None:
        """The raw ``item_instances`` row."""
        return self.one(
            "SELECT * FROM item_instances WHERE item_instance_id = %s", (item_instance_id,)
        )

    # --- whole database --------------------------------------------------------------------

    def dump(self, *, since: datetime | None = None) -> dict[str, list[Row]]:
        """Every game table in key order; timestamps at or after ``since`` become ``"<now>"``.

        Timestamps that ``now()`` wrote differ between two runs; earlier ones (seeded, or
        given by the caller) must still match exactly.
        """
        return {t: [_mask(r, since) for r in self._table(t)] for t in sorted(GAME_TABLES)}

    def fingerprint(self) -> dict[str, str]:
        """One hash per game table, computed by the server: cheap, and any change alters it."""
        parts = ", ".join(
            f"(SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
            f" FROM {table} x) AS {table}"
            for table in sorted(GAME_TABLES)
        )
        return self.one(f"SELECT {parts}") or {}

    def _table(self, table: str) -> Iterator[Row]:
        yield from self.rows(f"SELECT * FROM {table} ORDER BY {ORDER_BY[table]}")


def _mask(row: Row, since: datetime | None) -> Row:
    if since is None:
        return row
    return {k: "<now>" if _is_recent(k, v, since) else v for k, v in row.items()}


def _is_recent(column: str, value: Any, since: datetime) -> bool:
    return column in TIMESTAMPS and isinstance(value, datetime) and value >= since


class SeededWorld:
    """A database seeded once, with a copy of every game table kept aside in ``snap``.

    ``restore()`` puts the seeded rows back if anything changed them. Restoring server-side is
    several times faster than seeding again, and a test that wrote nothing costs only one
    fingerprint. ``state`` is a connection of its own, kept open for the whole suite.
    """

    def __init__(self, database_url: str, *, players: int, seed: int) -> None:
        self.database_url = database_url
        self.summary = seed_world(database_url, players=players, seed=seed, replace=True)
        self.state = StoredState(database_url)
        copies = ";".join(f"CREATE TABLE snap.{t} AS TABLE public.{t}" for t in GAME_TABLES)
        self._run(f"DROP SCHEMA IF EXISTS snap CASCADE; CREATE SCHEMA snap; {copies}")
        self.fingerprint = self.state.fingerprint()

    def restore(self) -> None:
        """Make the game tables hold exactly the seeded rows again."""
        if self.state.fingerprint() != self.fingerprint:
            fill = ";".join(f"INSERT INTO public.{t} TABLE snap.{t}" for t in COLUMNS)
            self._run(f"TRUNCATE {', '.join(GAME_TABLES)}; {fill}")

    def drop(self) -> None:
        """Drop the copy and close the connection."""
        self._run("DROP SCHEMA snap CASCADE")
        self.state.close()

    def _run(self, sql: str) -> None:
        """Run ``sql`` as one transaction."""
        self.state.execute(f"BEGIN; {sql}; COMMIT")
