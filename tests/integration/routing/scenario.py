"""One scenario that calls every MUD operation, run unchanged through any target.

A target is ``call(async_name, *args, **kwargs) -> awaitable``. Each run makes its own
players, items and containers (ids and names derived from a run tag), and the results are
normalised so that two runs through two targets compare equal exactly when the paths agree:
run-specific ids become placeholders and timestamps written during the run become ``<now>``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions

from persistence.errors import PersistenceError
from persistence.models import Player

Call = Callable[..., Awaitable[Any]]
NAMESPACE = uuid.UUID("6f1e0d8c-5d43-4c43-9d33-6c0b6b1d2b11")
PAST = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STARTED = datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class World:
    """Facts about the seeded world that the scenario's reads need."""

    player_ids: tuple[uuid.UUID, ...]
    player_name: str
    user_id: uuid.UUID
    room_id: str
    container_id: uuid.UUID
    container_room_id: str
    entity_id: uuid.UUID
    item_id: str
    item_owner: str
    prototype_id: str
    free_user_ids: list[uuid.UUID]


def load_world(conn: psycopg2.extensions.connection) -> World:
    """Read the facts from the seeded database, and add users for the runs' new players."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT player_id, name, user_id, current_room_id FROM players ORDER BY 1")
        players = cur.fetchall()
        cur.execute("SELECT container_id, room_id FROM containers WHERE room_id IS NOT NULL")
        container = cur.fetchone()
        cur.execute("SELECT entity_id FROM containers WHERE entity_id IS NOT NULL")
        entity = cur.fetchone()
        cur.execute(
            "SELECT item_instance_id, owner_id FROM item_instances WHERE owner_type = 'player'"
        )
        item = cur.fetchone()
        cur.execute("SELECT prototype_id FROM item_prototypes WHERE NOT stackable ORDER BY 1")
        prototype = cur.fetchone()
        users = _add_users(cur, 40)
    assert container and entity and item and prototype
    return World(
        player_ids=tuple(uuid.UUID(str(row[0])) for row in players[:3]),
        player_name=players[0][1],
        user_id=uuid.UUID(str(players[0][2])),
        room_id=players[0][3],
        container_id=uuid.UUID(str(container[0])),
        container_room_id=container[1],
        entity_id=uuid.UUID(str(entity[0])),
        item_id=item[0],
        item_owner=item[1],
        prototype_id=prototype[0],
        free_user_ids=users,
    )


def _add_users(cur: Any, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid5(NAMESPACE, f"user-{n}") for n in range(count)]
    for n, user_id in enumerate(ids):
        cur.execute(
            "INSERT INTO users (user_id, username, email, password_hash) VALUES (%s, %s, %s, 'x')",
            (str(user_id), f"routing_user_{n}", f"routing_user_{n}@example.org"),
        )
    return ids


class Run:
    """One pass of the scenario: its tag, its new ids, and the normalised results."""

    def __init__(self, world: World, tag: str, users: tuple[uuid.UUID, uuid.UUID]) -> None:
        self.world = world
        self.tag = tag
        self.player_id = uuid.uuid5(NAMESPACE, f"{tag}-player")
        self.other_id = uuid.uuid5(NAMESPACE, f"{tag}-other")
        self.container_id = uuid.uuid5(NAMESPACE, f"{tag}-container")
        self.users = users
        self.aliases: dict[str, str] = {
            str(self.player_id): "<player>",
            str(self.other_id): "<other>",
            str(self.container_id): "<container>",
            str(users[0]): "<user0>",
            str(users[1]): "<user1>",
        }
        self.results: list[tuple[str, Any]] = []
        self.called: set[str] = set()

    async def step(self, call: Call, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call one operation, recording its normalised result or error class."""
        self.called.add(name)
        try:
            value = await call(name, *args, **kwargs)
        except PersistenceError as exc:
            self.results.append((name, f"raised {type(exc).__name__}"))
            return None
        self.results.append((name, self.normalise(value)))
        return value

    def normalise(self, value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.normalise(dataclasses.asdict(value))
        if isinstance(value, dict):
            return {self.normalise(k): self.normalise(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.normalise(v) for v in value]
        if isinstance(value, datetime):
            return "<now>" if value >= STARTED else value
        if isinstance(value, uuid.UUID | str):
            text = self.aliases.get(str(value), str(value))
            return text.replace(self.tag, "<run>")
        return value


async def run_scenario(call: Call, world: World, tag: str, users: tuple[uuid.UUID, ...]) -> Run:
    """Every operation at least once: reads of the seeded world, then writes of new entities."""
    run = Run(world, tag, (users[0], users[1]))
    await _reads(run, call)
    await _player_writes(run, call)
    await _inventory_writes(run, call)
    await _errors(run, call)
    return run


async def _reads(run: Run, call: Call) -> None:
    w = run.world
    first, second, third = w.player_ids
    await run.step(call, "get_player_by_id", first)
    await run.step(call, "get_player_by_id", str(second))
    await run.step(call, "get_player_by_name", w.player_name.upper())
    await run.step(call, "get_player_by_user_id", w.user_id)
    await run.step(call, "list_players", 5, offset=2)
    await run.step(call, "get_players_in_room", w.room_id)
    await run.step(call, "get_players_batch", [third, first, uuid.uuid4(), third])
    await run.step(call, "get_room_by_id", w.room_id)
    await run.step(call, "get_room_by_id", "nowhere_at_all")
    await run.step(call, "list_rooms")
    await run.step(call, "get_professions")
    await run.step(call, "get_profession_by_id", 2)
    await run.step(call, "get_container", w.container_id)
    await run.step(call, "get_containers_by_room_id", w.container_room_id)
    await run.step(call, "get_containers_by_entity_id", w.entity_id)
    await run.step(call, "get_decayed_containers", PAST.replace(year=2026))
    await run.step(call, "get_item_instance", w.item_id)
    await run.step(call, "item_instance_exists", w.item_id)
    await run.step(call, "list_item_instances_by_owner", "player", w.item_owner)


async def _player_writes(run: Run, call: Call) -> None:
    w = run.world
    player = Player(run.player_id, run.users[0], f"{run.tag}Tester", w.room_id, profession_id=1)
    other = Player(run.other_id, run.users[1], f"{run.tag}Other", w.room_id)
    await run.step(call, "save_player", player)
    await run.step(call, "save_players", [player, other])
    await run.step(call, "update_player_last_active", run.player_id, PAST)
    await run.step(call, "damage_player", player, 7, "combat")
    await run.step(call, "heal_player", player, 3)
    await run.step(call, "update_player_health", run.player_id, -2, "trap")
    await run.step(call, "gain_experience", player, 150, "quest")
    await run.step(call, "update_player_xp", run.player_id, -20, reason="penalty")
    await run.step(call, "update_player_stat_field", run.player_id, "sanity", -5, "horror")
    lost = dataclasses.replace(player, current_room_id="arkham_nowhere")
    await run.step(call, "validate_and_fix_player_room", lost)
    run.results.append(("moved to", lost.current_room_id))
    run.results.append(("player after", run.normalise(player)))
    await run.step(call, "get_player_by_id", run.player_id)
    await run.step(call, "delete_player", run.other_id)


async def _inventory_writes(run: Run, call: Call) -> None:
    w, owner = run.world, str(run.player_id)
    first, second = f"item_{run.tag}_a", f"item_{run.tag}_b"
    await run.step(
        call, "create_item_instance", first, w.prototype_id,
        owner_type="player", owner_id=owner, condition=90, metadata={"k": 1},
    )  # fmt: skip
    await run.step(
        call, "ensure_item_instance", first, w.prototype_id, owner_type="player", owner_id=owner
    )
    await run.step(call, "ensure_item_instance", second, w.prototype_id)
    await run.step(
        call, "create_container", "environment", room_id=w.room_id,
        container_id=run.container_id, capacity_slots=5, metadata={"label": run.tag},
    )  # fmt: skip
    await run.step(call, "add_item_to_container", run.container_id, second)
    await run.step(call, "add_item_to_container", run.container_id, first)
    await run.step(call, "remove_item_from_container", run.container_id, second)
    await run.step(call, "update_container", run.container_id, lock_state="locked")
    await run.step(call, "remove_item_from_container", run.container_id, first)
    await run.step(call, "delete_container", run.container_id)
    await run.step(call, "delete_item_instance", first)
    await run.step(call, "delete_item_instance", second)
    await run.step(call, "item_instance_exists", first)
    await run.step(call, "delete_player", run.player_id)


async def _errors(run: Run, call: Call) -> None:
    await run.step(call, "delete_player", uuid.uuid5(NAMESPACE, "nobody"))
    await run.step(call, "get_player_by_id", "not-a-uuid")
    await run.step(call, "delete_container", uuid.uuid5(NAMESPACE, "no container"))
    await run.step(call, "update_player_stat_field", run.world.player_ids[0], "luck", 1)
