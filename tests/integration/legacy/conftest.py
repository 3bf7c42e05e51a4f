"""Fixtures for the legacy path's integration tests: a small world, a layer, a player factory."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg2
import pytest

from persistence.events import EventBus
from persistence.legacy import PersistenceLayer
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


@dataclass
class EventLog:
    """Every event the layer's bus published, in order."""

    bus: EventBus = field(default_factory=EventBus)
    events: list[object] = field(default_factory=list)

    def watch(self, *types: type) -> None:
        """Record events of these classes."""
        for event_type in types:
            self.bus.subscribe(event_type, self.events.append)


def run_sql(url: str, statement: str, params: object = None) -> list[tuple[object, ...]]:
    """Run one statement on a connection of its own and return its rows, if any."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture
def world(database_url: str) -> str:
    """Empty every game table and insert two zones, three rooms, professions and a prototype."""
    run_sql(database_url, f"TRUNCATE {TABLES} CASCADE")
    run_sql(database_url, WORLD_SQL)
    return database_url


@pytest.fixture
def log() -> EventLog:
    """An event bus that records what is published on it."""
    return EventLog()


@pytest.fixture
def layer(world: str, log: EventLog) -> Iterator[PersistenceLayer]:
    """A legacy layer on the test database, closed after the test."""
    layer = PersistenceLayer(world, event_bus=log.bus, pool_size=4, acquire_timeout=2.0)
    yield layer
    layer.close()


@pytest.fixture
def make_player(world: str, layer: PersistenceLayer) -> Callable[..., Player]:
    """Create a user and save a player for it; keyword arguments override Player fields."""

    def make(name: str = "Armitage", **overrides: object) -> Player:
        user_id = uuid.uuid4()
        run_sql(world, USER_SQL, (user_id.hex, f"user_{user_id.hex[:12]}", f"{user_id.hex}@x.io"))
        fields: dict[str, object] = {
            "player_id": uuid.uuid4(),
            "user_id": user_id,
            "name": name,
            "current_room_id": "arkham_square",
            "stats": Stats(),
        }
        fields.update(overrides)
        player = Player(**fields)  # type: ignore[arg-type]
        layer.save_player(player)
        return player

    return make
