"""A realistic mixed game workload, driven through the router for a fixed time.

Workers pick actions by weight: lookups, moves between rooms, combat damage and healing,
experience, stat changes, inventory and container handling, profession reads. Expected
refusals of the game rules (a locked container, a full one) count as ``refused``; anything
else raised counts as an error.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from persistence.errors import NotFoundError, ValidationError
from persistence.models import Player, Room

__all__ = ["ACTIONS", "TrafficReport", "World", "run_traffic"]

STATS = ("fear", "sanity", "corruption", "occult_knowledge")


@dataclass
class World:
    """What the workers pick from: player ids, rooms and their exits, the router."""

    router: Any
    player_ids: list[Any]
    rooms: dict[str, Room]
    rng: random.Random

    def player_id(self) -> Any:
        """A random player's id."""
        return self.rng.choice(self.player_ids)

    def room_id(self) -> str:
        """A random room's id."""
        return self.rng.choice(list(self.rooms))

    async def player(self) -> Player | None:
        """A random player, read through the router."""
        found: Player | None = await self.router.get_player_by_id(self.player_id())
        return found


@dataclass
class TrafficReport:
    """What a run did: operations by action, refusals, errors by class, duration."""

    operations: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    divergences: int | None = None

    @property
    def total(self) -> int:
        """Actions completed (refusals included, errors not)."""
        return sum(self.operations.values())

    @property
    def error_count(self) -> int:
        """Actions that raised something other than a game-rule refusal."""
        return sum(self.errors.values())


async def look(world: World) -> None:
    """Lookups: a player by id and by name, the room and who is in it."""
    player = await world.player()
    if player is not None:
        await world.router.get_player_by_name(player.name)
        await world.router.get_room_by_id(player.current_room_id)
        await world.router.get_players_in_room(player.current_room_id)


async def move(world: World) -> None:
    """A player walks through a random exit of their room."""
    player = await world.player()
    room = world.rooms.get(player.current_room_id) if player else None
    if player is not None and room is not None and room.exits:
        player.current_room_id = world.rng.choice(list(room.exits.values()))
        await world.router.save_player(player)


async def fight(world: World) -> None:
    """A player takes a blow."""
    player = await world.player()
    if player is not None:
        await world.router.damage_player(player, world.rng.randint(1, 12), "physical")


async def heal(world: World) -> None:
    """A player is patched up."""
    player = await world.player()
    if player is not None:
        await world.router.heal_player(player, world.rng.randint(1, 20))


async def learn(world: World) -> None:
    """A player gains experience."""
    player = await world.player()
    if player is not None:
        await world.router.gain_experience(player, world.rng.randint(5, 60), "traffic")


async def unsettle(world: World) -> None:
    """A player's fear, sanity, corruption or occult knowledge moves by one."""
    stat = world.rng.choice(STATS)
    await world.router.update_player_stat_field(
        world.player_id(), stat, world.rng.choice((-1, 1)), "traffic"
    )


async def loot(world: World) -> None:
    """An item is made, put in a room's container, taken out again and destroyed."""
    room_id = world.room_id()
    item_id = f"traffic-{uuid.uuid4().hex[:16]}"
    router = world.router
    containers = await router.get_containers_by_room_id(room_id)
    open_ones = [c for c in containers if c.lock_state == "unlocked"]
    await router.create_item_instance(
        item_id, "junk.fish_scale", owner_type="room", owner_id=room_id
    )
    try:
        if open_ones:
            container = world.rng.choice(open_ones)
            await router.add_item_to_container(container.container_id, item_id)
            await router.remove_item_from_container(container.container_id, item_id)
    finally:
        await router.delete_item_instance(item_id)


async def browse(world: World) -> None:
    """Professions and a room are read (the character screen and the map)."""
    await world.router.get_professions()
    await world.router.get_room_by_id(world.room_id())


Action = Callable[[World], Awaitable[None]]
ACTIONS: dict[str, tuple[Action, int]] = {
    "look": (look, 30),
    "move": (move, 15),
    "fight": (fight, 15),
    "heal": (heal, 10),
    "learn": (learn, 10),
    "unsettle": (unsettle, 5),
    "loot": (loot, 10),
    "browse": (browse, 5),
}


async def load_world(router: Any, seed: int) -> World:
    """Player ids and rooms to pick from; ``ValueError`` if the world is empty."""
    players = await router.list_players(limit=500)
    rooms = {room.room_id: room for room in await router.list_rooms()}
    if not players or not rooms:
        raise ValueError("the world is empty: run `dualpath seed` first")
    return World(router, [p.player_id for p in players], rooms, random.Random(seed))


async def worker(
    world: World, deadline: float, report: TrafficReport, tick: Callable[[], None]
) -> None:
    """Run weighted random actions until ``deadline``."""
    names = list(ACTIONS)
    weights = [ACTIONS[n][1] for n in names]
    while time.monotonic() < deadline:
        name = world.rng.choices(names, weights)[0]
        try:
            await ACTIONS[name][0](world)
        except (ValidationError, NotFoundError) as exc:
            report.refused[f"{name}: {type(exc).__name__}"] += 1
        except Exception as exc:  # counted and reported: a workload run must not stop
            report.errors[f"{name}: {type(exc).__name__}"] += 1
            continue
        report.operations[name] += 1
        tick()


async def run_traffic(
    router: Any,
    *,
    seconds: float,
    concurrency: int,
    seed: int = 0,
    tick: Callable[[], None] = lambda: None,
) -> TrafficReport:
    """Drive the workload with ``concurrency`` workers for ``seconds``."""
    world = await load_world(router, seed)
    report = TrafficReport()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(worker(world, deadline, report, tick) for _ in range(concurrency)))
    report.seconds = time.monotonic() - started
    return report
