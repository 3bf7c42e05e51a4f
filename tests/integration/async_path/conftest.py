"""Fixtures for the async path's integration tests: a small world, a layer, players, events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extras
import pytest

from persistence.async_layer import AsyncPersistenceLayer
from persistence.events import EventBus
from persistence.models import Player, Stats

TABLES = (
    "container_contents, containers, item_instances, item_prototypes, players, room_exits,"
    " rooms, zones, professions, users"
)
WORLD_SQL = """
INSERT INTO zones (zone_id, name, start_room_id) VALUES
    ('arkham', 'Arkham', 'arkham_square'), ('dunwich', 'Dunwich', 'dunwich_green');
INSERT INTO rooms (room_id, zone_id, name) VALUES
    ('arkham_square', 'arkham', 'Square'), ('arkham_library', 'arkham', 'Library'),
    ('dunwich_green', 'dunwich', 'Green');
INSERT INTO room_exits (room_id, direction, target_room_id) VALUES
    ('arkham_square', 'north', 'arkham_library'), ('arkham_library', 'south', 'arkham_square');
INSERT INTO professions (profession_id, name, is_available) VALUES
    (0, 'Tramp', true), (1, 'Scholar', true), (2, 'Hidden', false);
INSERT INTO item_prototypes (prototype_id, name, item_type) VALUES ('lantern', 'Lantern', 'junk');
"""
USER_SQL = "INSERT INTO users (user_id, username, email, password_hash) VALUES (%s, %s, %s, 'x')"
PlayerFactory = Callable[..., Awaitable[Player]]


def run_sql(url: str, statement: str, params: object = None) -> list[tuple[object, ...]]:
    """Run one statement on a psycopg2 connection of its own; its rows, if any."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@dataclass
class EventLog:
    """Every event published on ``bus``, in order."""

    bus: EventBus = field(default_factory=EventBus)
    events: list[object] = field(default_factory=list)

    def watch(self, *types: type) -> None:
        """Record events of these classes."""
        for event_type in types:
            self.bus.subscribe(event_type, self.events.append)


@pytest.fixture
def world(database_url: str) -> str:
    """Empty every game table, then insert two zones, three rooms, professions and a prototype."""
    run_sql(database_url, f"TRUNCATE {TABLES} CASCADE")
    run_sql(database_url, WORLD_SQL)
    return database_url


@pytest.fixture
def log() -> EventLog:
    """An event bus that records what is published on it."""
    return EventLog()


@pytest.fixture
async def layer(world: str, log: EventLog) -> AsyncIterator[AsyncPersistenceLayer]:
    """An async layer with a database of its own, closed after the test."""
    layer = AsyncPersistenceLayer(log.bus, database_url=world, pool_size=4)
    yield layer
    await layer.close()


def insert_player(url: str, name: str = "Wilbur", **stats: int) -> Player:
    """Insert a user and its player with plain SQL and return the Player."""
    user_id, player_id = uuid.uuid4(), uuid.uuid4()
    run_sql(url, USER_SQL, (str(user_id), name.lower(), f"{name.lower()}@example.org"))
    player = Player(player_id, user_id, name, "arkham_square", stats=Stats(**stats))
    run_sql(
        url,
        "INSERT INTO players (player_id, user_id, name, profession_id, current_room_id, stats)"
        " VALUES (%s, %s, %s, 0, 'arkham_square', %s)",
        (str(player_id), str(user_id), name, psycopg2.extras.Json(player.stats.to_dict())),
    )
    return player


@pytest.fixture
def make_player(world: str) -> PlayerFactory:
    """``await make_player(name, **stats)``: a player inserted through SQL, not the layer."""

    async def make(name: str = "Wilbur", **stats: int) -> Player:
        return insert_player(world, name, **stats)

    return make
