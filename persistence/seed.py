"""The demo world: zones, rooms and exits, professions, items, users, players and containers.

``seed_world`` builds the whole world in memory from one ``random.Random(seed)`` (so the same
seed gives the same ids and data, timestamps included) and writes it with plain SQL in one
transaction. ``clear_world`` empties every game table.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import structlog

from persistence.rules import MAX_STACKS, STAT_BOUNDS, level_for_xp

__all__ = ["GAME_TABLES", "SeedRefused", "SeedSummary", "build_world", "clear_world", "seed_world"]

# Children before parents, so the order also suits a DELETE; TRUNCATE takes them all at once.
GAME_TABLES = tuple(
    "container_contents containers item_instances item_prototypes players room_exits rooms "
    "zones professions users".split()
)
ZONES = {
    "arkham": ("Arkham", "outdoors"),
    "dunwich": ("Dunwich", "outdoors"),
    "innsmouth": ("Innsmouth", "water"),
    "kingsport": ("Kingsport", "outdoors"),
    "miskatonic": ("Miskatonic University", "indoors"),
    "rlyeh": ("The Sunken Vaults", "underground"),
}
PLACES = (
    "Fog-bound Lane|Gambrel Roof Attic|Crumbling Wharf|Whateley Farmstead|Restricted Stacks|"
    "Witch House Garret|Old Burying Ground|Marsh Refinery|Lighthouse Stair|Shuttered Church|"
    "Gilman House Lobby|Sentinel Hill|Orne Library Reading Room|Flooded Cellar|"
    "Devil's Reef Overlook|Cyclopean Arch"
).split("|")
FIRST_NAMES = (
    "Wilbur Lavinia Herbert Asenath Randolph Keziah Zadok Armitage Obed Marceline Walter "
    "Ephraim Robert Erich Henrietta Nahum".split()
)
PROFESSIONS: tuple[tuple[str, str, dict[str, int], bool], ...] = (
    ("Tramp", "A drifter with nothing to lose.", {}, True),
    ("Antiquarian", "A collector of old and dangerous things.", {"intelligence": 55}, True),
    ("Private Investigator", "Paid to ask what others will not.", {"wisdom": 50}, True),
    ("Doctor of Medicine", "Sworn to heal, whoever comes.", {"intelligence": 60}, True),
    ("Occultist", "Reads what should stay unread.", {"intelligence": 60, "wisdom": 55}, True),
    ("Journalist", "Chases the story into the dark.", {"charisma": 50}, True),
    ("Professor", "Tenured at Miskatonic, for now.", {"intelligence": 70}, True),
    ("Cultist", "Not available to the sane.", {"wisdom": 80}, False),
)
Prototype = tuple[str, str, str, str, int, bool, list[str]]
PROTOTYPES: tuple[Prototype, ...] = (
    ("weapon.revolver_38", "a .38 revolver", "weapon", "1.10", 40, False, ["main_hand"]),
    ("weapon.sword_cane", "a sword cane", "weapon", "0.90", 60, False, ["main_hand"]),
    ("weapon.shotgun", "a double-barrelled shotgun", "weapon", "3.40", 90, False, ["main_hand"]),
    ("armor.trench_coat", "a heavy trench coat", "armor", "2.00", 25, False, ["body"]),
    ("armor.fedora", "a battered fedora", "armor", "0.20", 5, False, ["head"]),
    ("consumable.laudanum", "a vial of laudanum", "consumable", "0.10", 8, True, []),
    ("consumable.bandage", "a clean bandage", "consumable", "0.05", 2, True, []),
    ("artifact.elder_sign", "an elder sign", "artifact", "0.30", 500, False, ["neck"]),
    ("tome.necronomicon", "a crumbling Necronomicon", "tome", "2.50", 1000, False, []),
    ("tome.unaussprechlichen", "Unaussprechlichen Kulten", "tome", "2.00", 700, False, []),
    ("container.satchel", "a leather satchel", "container", "0.80", 15, False, ["back"]),
    ("key.brass", "a tarnished brass key", "key", "0.02", 1, True, []),
    ("junk.fish_scale", "an iridescent fish scale", "junk", "0.01", 0, True, []),
)
GRID_WIDTH = 5
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
PAST_DECAY = datetime(2025, 6, 1, tzinfo=UTC)
FUTURE_DECAY = datetime(2099, 1, 1, tzinfo=UTC)
Row = tuple[Any, ...]


class SeedRefused(RuntimeError):
    """The database already holds a world and ``replace=True`` was not given."""


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What ``seed_world`` wrote, and how long it took."""

    seed: int
    counts: dict[str, int]
    zone_start_rooms: dict[str, str]
    player_ids: tuple[uuid.UUID, ...]
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for humans."""
        parts = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        return f"seeded world {self.seed}: {parts} in {self.seconds:.2f}s"


@dataclass(slots=True)
class World:
    """Rows for every game table, in insertion order."""

    rng: random.Random
    rows: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in GAME_TABLES})
    rooms_by_zone: dict[str, list[str]] = field(default_factory=dict)

    def new_uuid(self) -> str:
        """A random UUID drawn from the world's generator, as text (no driver adapter needed)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, days: int = 365) -> datetime:
        """A deterministic timestamp within ``days`` after the epoch."""
        return EPOCH + timedelta(seconds=self.rng.randrange(days * 86400))

    def add(self, table: str, row: Row) -> None:
        """Queue one row for ``table``."""
        self.rows[table].append(row)


# --- building --------------------------------------------------------------------------------


def build_world(players: int = 1000, seed: int = 0) -> World:
    """The whole world as rows, from ``seed`` alone."""
    world = World(random.Random(seed))
    _build_professions(world)
    _build_prototypes(world)
    for zone_id in ZONES:
        _build_zone(world, zone_id)
    _link_zones(world)
    for index in range(players):
        _build_player(world, index)
    _build_room_containers(world)
    _build_corpses(world)
    return world


def _build_professions(world: World) -> None:
    for pid, (name, description, requirements, available) in enumerate(PROFESSIONS):
        flavor = f"The {name.lower()} knows things best left unknown."
        world.add("professions", (pid, name, description, flavor, _j(requirements), available))


def _build_prototypes(world: World) -> None:
    for proto_id, name, kind, weight, value, stackable, slots in PROTOTYPES:
        attributes = {"eldritch": kind in ("artifact", "tome")}
        world.add(
            "item_prototypes",
            (proto_id, name, kind, weight, value, stackable, slots, _j(attributes)),
        )


def _build_zone(world: World, zone_id: str) -> None:
    name, environment = ZONES[zone_id]
    room_ids = [f"{zone_id}_{n:03d}" for n in range(world.rng.randint(20, 26))]
    world.rooms_by_zone[zone_id] = room_ids
    world.add("zones", (zone_id, name, f"The streets and shadows of {name}.", room_ids[0]))
    for n, room_id in enumerate(room_ids):
        place = world.rng.choice(PLACES)
        desc = f"{place}, somewhere in {name}. Something watches from the dark."
        world.add(
            "rooms", (room_id, zone_id, f"{place} ({n})", desc, _room_env(world, environment))
        )
    _grid_exits(world, room_ids)


def _room_env(world: World, environment: str) -> str:
    return environment if world.rng.random() < 0.7 else world.rng.choice(("indoors", "underground"))


def _grid_exits(world: World, room_ids: list[str]) -> None:
    """Rooms on a grid, each linked both ways to its east and south neighbours (connected)."""
    for n, room_id in enumerate(room_ids):
        if n % GRID_WIDTH + 1 < GRID_WIDTH and n + 1 < len(room_ids):
            _link(world, room_id, "east", room_ids[n + 1], "west")
        if n + GRID_WIDTH < len(room_ids):
            _link(world, room_id, "south", room_ids[n + GRID_WIDTH], "north")
        diagonal = n + GRID_WIDTH + 1
        inside = n % GRID_WIDTH + 1 < GRID_WIDTH and diagonal < len(room_ids)
        if inside and world.rng.random() < 0.3:
            _link(world, room_id, "southeast", room_ids[diagonal], "northwest")


def _link_zones(world: World) -> None:
    """Each zone's last room leads down to the next zone's start room, and back up."""
    zones = list(world.rooms_by_zone.values())
    for here, there in itertools.pairwise(zones):
        _link(world, here[-1], "down", there[0], "up")


def _link(world: World, room: str, direction: str, target: str, back: str) -> None:
    world.add("room_exits", (room, direction, target))
    world.add("room_exits", (target, back, room))


def _build_player(world: World, index: int) -> None:
    rng = world.rng
    user_id, player_id = world.new_uuid(), world.new_uuid()
    name = f"{rng.choice(FIRST_NAMES)}{index:04d}"
    created = world.moment()
    account = (user_id, name.lower(), f"{name.lower()}@example.org")
    world.add(
        "users", (*account, f"pbkdf2${rng.getrandbits(64):016x}", rng.random() > 0.05, created)
    )
    xp = rng.choice((0, 0, rng.randrange(100), rng.randrange(100, 5000), rng.randrange(10**5)))
    room = rng.choice(rng.choice(list(world.rooms_by_zone.values())))
    inventory, equipped = _build_belongings(world, player_id)
    profession = rng.randrange(len(PROFESSIONS) - 1)
    body = (_j(_stats(rng)), _j(inventory), _j(equipped), xp, level_for_xp(xp), index % 97 == 0)
    active = created + timedelta(days=rng.randrange(1, 60))
    world.add("players", (player_id, user_id, name, profession, room, *body, created, active))
    if rng.random() < 0.1:
        _build_container(world, "equipment", entity_id=player_id, owner_id=player_id)


def _stats(rng: random.Random) -> dict[str, Any]:
    max_hp = rng.randint(60, 150)
    hp = max_hp if rng.random() < 0.6 else rng.randint(-10, max_hp)
    stats: dict[str, Any] = {"current_health": hp, "max_health": max_hp}
    for name, (low, high) in STAT_BOUNDS.items():
        stats[name] = rng.randint(max(low, 10), min(high, 90)) if high > 0 else low
    stats["position"] = rng.choice(("standing", "standing", "sitting", "lying"))
    return stats


def _build_belongings(world: World, player_id: str) -> tuple[list[Any], dict[str, str]]:
    rng = world.rng
    count = MAX_STACKS if rng.random() < 0.03 else rng.randint(0, 8)
    inventory: list[dict[str, Any]] = []
    for _ in range(count):
        proto = rng.choice(PROTOTYPES)
        quantity = rng.randint(1, 12) if proto[5] else 1
        stack: dict[str, Any] = {"prototype_id": proto[0], "quantity": quantity}
        if not proto[5] and rng.random() < 0.5:
            stack["item_instance_id"] = _item(world, proto[0], "player", player_id)
        inventory.append(stack)
    equipped: dict[str, str] = {}
    for proto in rng.sample(PROTOTYPES, 2):
        if proto[6] and proto[6][0] not in equipped:
            equipped[proto[6][0]] = _item(world, proto[0], "player", player_id)
    return inventory, equipped


def _item(world: World, prototype_id: str, owner_type: str, owner_id: str | None) -> str:
    rng = world.rng
    item_id = f"item_{world.new_uuid().replace('-', '')}"
    condition = rng.randint(0, 100) if rng.random() < 0.7 else None
    custom = "a name scratched into it" if rng.random() < 0.05 else None
    meta = {"found_in": rng.choice(list(ZONES))}
    owner = (prototype_id, owner_type, owner_id, None)
    world.add("item_instances", (item_id, *owner, 1, condition, custom, _j(meta), world.moment()))
    return item_id


def _build_room_containers(world: World) -> None:
    for room_ids in world.rooms_by_zone.values():
        for room_id in room_ids:
            if world.rng.random() < 0.35:
                _build_container(world, "environment", room_id=room_id)


def _build_corpses(world: World) -> None:
    rooms = [r for ids in world.rooms_by_zone.values() for r in ids]
    for n in range(6):
        decay = PAST_DECAY + timedelta(hours=n) if n % 2 == 0 else FUTURE_DECAY + timedelta(hours=n)
        _build_container(world, "corpse", room_id=world.rng.choice(rooms), decay_at=decay)


def _build_container(world: World, source_type: str, **where: Any) -> None:
    rng = world.rng
    container_id = world.new_uuid()
    capacity = rng.randint(4, 20)
    lock = rng.choice(("unlocked", "unlocked", "unlocked", "locked", "sealed"))
    created = world.moment()
    place = tuple(where.get(key) for key in ("owner_id", "room_id", "entity_id"))
    weight = None if rng.random() < 0.5 else "50.00"
    meta = _j({"label": f"{source_type} {container_id[:8]}"})
    body = (lock, capacity, weight, where.get("decay_at"), meta, created, created)
    world.add("containers", (container_id, source_type, *place, *body))
    for position in range(rng.randint(0, min(capacity, 6))):
        item_id = _item(world, rng.choice(PROTOTYPES)[0], "container", container_id)
        world.add("container_contents", (container_id, item_id, position, created))


def _j(value: Any) -> psycopg2.extras.Json:
    return psycopg2.extras.Json(value)


# --- writing ---------------------------------------------------------------------------------

COLUMNS = {
    "professions": "profession_id, name, description, flavor_text, stat_requirements, is_available",
    "item_prototypes": "prototype_id, name, item_type, weight, base_value, stackable, "
    "wear_slots, attributes",
    "zones": "zone_id, name, description, start_room_id",
    "rooms": "room_id, zone_id, name, description, environment",
    "room_exits": "room_id, direction, target_room_id",
    "users": "user_id, username, email, password_hash, is_active, created_at",
    "players": "player_id, user_id, name, profession_id, current_room_id, stats, inventory, "
    "equipped, experience_points, level, is_admin, created_at, last_active",
    "item_instances": "item_instance_id, prototype_id, owner_type, owner_id, location_context, "
    "quantity, condition, custom_name, metadata, created_at",
    "containers": "container_id, source_type, owner_id, room_id, entity_id, lock_state, "
    "capacity_slots, weight_limit, decay_at, metadata, created_at, updated_at",
    "container_contents": "container_id, item_instance_id, position, added_at",
}


@contextmanager
def _connect(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """One connection and one transaction: committed on success, rolled back on error."""
    conn = psycopg2.connect(database_url)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def _truncate(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(GAME_TABLES)}")


def _has_players(conn: psycopg2.extensions.connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM players)")
        row = cur.fetchone()
    return bool(row and row[0])


def write_world(conn: psycopg2.extensions.connection, world: World) -> None:
    """Insert every row of ``world`` (parents before children)."""
    with conn.cursor() as cur:
        for table, columns in COLUMNS.items():
            sql = f"INSERT INTO {table} ({columns}) VALUES %s"
            psycopg2.extras.execute_values(cur, sql, world.rows[table], page_size=1000)


def seed_world(
    database_url: str, *, players: int = 1000, seed: int = 0, replace: bool = False
) -> SeedSummary:
    """Create the demo world; refuse if players exist, unless ``replace`` clears it first."""
    started = time.perf_counter()
    world = build_world(players, seed)
    with _connect(database_url) as conn:
        if replace:
            _truncate(conn)
        elif _has_players(conn):
            raise SeedRefused(
                "the database already has players; reseed with replace=True (--replace)"
            )
        write_world(conn, world)
    summary = _summarise(world, seed, time.perf_counter() - started)
    structlog.get_logger().info(
        "seed.done", seed=seed, seconds=round(summary.seconds, 3), **summary.counts
    )
    return summary


def _summarise(world: World, seed: int, seconds: float) -> SeedSummary:
    return SeedSummary(
        seed=seed,
        counts={table: len(world.rows[table]) for table in COLUMNS},
        zone_start_rooms={zone: rooms[0] for zone, rooms in world.rooms_by_zone.items()},
        player_ids=tuple(uuid.UUID(row[0]) for row in world.rows["players"]),
        seconds=seconds,
    )


def clear_world(database_url: str) -> None:
    """Empty every game table."""
    with _connect(database_url) as conn:
        _truncate(conn)
