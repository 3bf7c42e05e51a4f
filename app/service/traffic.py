"""A realistic mixed game workload, driven through the router for a fixed time.

Workers pick actions by weight: lookups, moves between rooms, combat damage and healing,
experience, stat changes, inventory and container handling, profession reads. Expected
refusals of the game rules (a locked container, a full one) count as ``refused``; anything
else raised counts as an error.

With ``as_services`` each action runs as the calling service of the MUD that would make it
(``DEMO_SERVICES``, services from the migration guide), and ``unsettle`` as no service at
all, so the migration map has rows to show (``make run`` does this).

With ``tally`` players, those players are set aside for an exact account of health and
experience (``app.service.traffic_audit.Tally``): the tally actions damage, heal and teach
them and record each acknowledged change, and ``refuse`` sends them deliberately bad amounts
that both paths must refuse.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.service.traffic_audit import TALLY_MAX_HP, TALLY_START_HP, Tally
from persistence.errors import NotFoundError, ValidationError
from persistence.events import EventBus
from persistence.models import Player, Room
from routing.services import calling_service

if TYPE_CHECKING:
    from routing.router import PersistenceRouter

__all__ = ["ACTIONS", "DEMO_SERVICES", "TALLY_ACTIONS", "TrafficReport", "World", "run_traffic"]

STATS = ("fear", "sanity", "corruption", "occult_knowledge")


@dataclass
class World:
    """What the workers pick from: player ids, rooms and their exits, the router.

    ``tally`` accounts for the players set aside in ``tally_ids`` (none without a tally).
    """

    router: PersistenceRouter
    player_ids: list[UUID]
    rooms: dict[str, Room]
    rng: random.Random
    tally_ids: list[UUID] = field(default_factory=list)
    tally: Tally | None = None
    as_services: bool = False

    def player_id(self) -> UUID:
        """A random player's id."""
        return self.rng.choice(self.player_ids)

    def room_id(self) -> str:
        """A random room's id."""
        return self.rng.choice(list(self.rooms))

    async def player(self) -> Player | None:
        """A random player, read through the router."""
        found: Player | None = await self.router.get_player_by_id(self.player_id())
        return found

    async def tally_player(self) -> tuple[Tally, Player]:
        """The tally and one of its players, read through the router."""
        if self.tally is None:
            raise RuntimeError("this run has no tally players")
        player: Player | None = await self.router.get_player_by_id(self.rng.choice(self.tally_ids))
        if player is None:
            raise NotFoundError("a tally player is gone")
        return self.tally, player


@dataclass
class TrafficReport:
    """What a run did: operations by action, refusals, errors by class, duration.

    ``latencies`` holds each completed action's seconds (refusals included); ``tally`` is
    the run's HP/XP tally, if it had tally players.
    """

    operations: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    divergences: int | None = None
    latencies: array[float] = field(default_factory=lambda: array("d"))
    tally: Tally | None = None

    @property
    def total(self) -> int:
        """Actions completed (refusals included, errors not)."""
        return sum(self.operations.values())

    @property
    def error_count(self) -> int:
        """Actions that raised something other than a game-rule refusal."""
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain data: counts, rate, latency quantiles, divergences and the tally."""
        return {
            "seconds": round(self.seconds, 3),
            "total": self.total,
            "ops_per_s": round(self.total / max(self.seconds, 1e-9), 1),
            "p50_ms": self.percentile_ms(0.5),
            "p99_ms": self.percentile_ms(0.99),
            "operations": dict(self.operations),
            "refused": dict(self.refused),
            "errors": dict(self.errors),
            "divergences": self.divergences,
            "tally": self.tally.as_dict() if self.tally is not None else None,
        }

    def percentile_ms(self, fraction: float) -> float | None:
        """The ``fraction`` quantile of action latency in milliseconds (None before any)."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else None
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[min(int(fraction * 1000), 999) - 1] * 1000


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
    """An item is made, put in a room's container, looked at, taken out and destroyed."""
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
            await router.get_container(container.container_id)  # a look inside
            await router.remove_item_from_container(container.container_id, item_id)
    finally:
        await router.delete_item_instance(item_id)


async def browse(world: World) -> None:
    """Professions and a room are read (the character screen and the map)."""
    await world.router.get_professions()
    await world.router.get_room_by_id(world.room_id())


async def tally_fight(world: World) -> None:
    """A tally player takes a blow; the tally records it once acknowledged."""
    tally, player = await world.tally_player()
    amount = world.rng.randint(1, 12)
    await acknowledged(tally, world.router.damage_player(player, amount, "physical"))
    tally.hp(player.player_id, -amount)


async def tally_heal(world: World) -> None:
    """A tally player is patched up; the tally records it once acknowledged."""
    tally, player = await world.tally_player()
    amount = world.rng.randint(1, 20)
    await acknowledged(tally, world.router.heal_player(player, amount))
    tally.hp(player.player_id, amount)


async def tally_learn(world: World) -> None:
    """A tally player gains experience; the tally records it once acknowledged."""
    tally, player = await world.tally_player()
    amount = world.rng.randint(5, 60)
    await acknowledged(tally, world.router.gain_experience(player, amount, "traffic"))
    tally.xp(player.player_id, amount)


async def refuse(world: World) -> None:
    """A tally player is sent a negative amount, which the game must refuse."""
    _, player = await world.tally_player()
    amount = -world.rng.randint(1, 50)
    calls = (
        lambda: world.router.damage_player(player, amount, "physical"),
        lambda: world.router.heal_player(player, amount),
        lambda: world.router.gain_experience(player, amount, "traffic"),
    )
    await world.rng.choice(calls)()
    raise AssertionError(f"a negative amount ({amount}) was accepted")


async def acknowledged(tally: Tally, write: Awaitable[object]) -> None:
    """Await ``write``; if it raises, the tally can no longer say what was applied."""
    try:
        await write
    except BaseException:
        tally.uncertain += 1
        raise


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
TALLY_ACTIONS: dict[str, tuple[Action, int]] = {
    "tally_fight": (tally_fight, 8),
    "tally_heal": (tally_heal, 8),
    "tally_learn": (tally_learn, 8),
    "refuse": (refuse, 3),
}


#: The calling service of each action when traffic runs ``as_services``; None: unattributed.
DEMO_SERVICES: dict[str, str | None] = {
    "look": "user_manager",
    "move": "player_position_service",
    "fight": "combat_service",
    "heal": "health_service",
    "learn": "npc_combat_integration_service",
    "unsettle": None,
    "loot": "corpse_lifecycle_service",
    "browse": "exploration_service",
    "tally_fight": "combat_service",
    "tally_heal": "health_service",
    "tally_learn": "npc_combat_integration_service",
    "refuse": None,
}


def as_services(actions: dict[str, tuple[Action, int]]) -> dict[str, tuple[Action, int]]:
    """``actions``, each run as its ``DEMO_SERVICES`` calling service (or as none)."""
    out = {}
    for name, (action, weight) in actions.items():
        service = DEMO_SERVICES.get(name)
        out[name] = (calling_service(service)(action) if service else action, weight)
    return out


async def load_world(router: PersistenceRouter, seed: int, tally: int = 0) -> World:
    """Player ids and rooms to pick from, ``tally`` players set aside; ``ValueError`` if the
    world is empty or too small to set them aside."""
    players = await router.list_players(limit=500)
    rooms = {room.room_id: room for room in await router.list_rooms()}
    if not players or not rooms:
        raise ValueError("the world is empty: run `dualpath seed` first")
    if tally and len(players) <= tally:
        raise ValueError(f"{len(players)} players cannot spare {tally} for the tally")
    ids = sorted((p.player_id for p in players), key=str)
    world = World(router, ids[tally:], rooms, random.Random(seed), tally_ids=ids[:tally])
    if tally:
        world.tally = Tally.of(world.tally_ids)
    return world


async def prepare_tally(world: World) -> None:
    """Give each tally player health far from both clamps (saved through the router)."""
    for player_id in world.tally_ids:
        player = await world.router.get_player_by_id(player_id)
        player.stats.max_health = TALLY_MAX_HP
        player.stats.current_health = TALLY_START_HP
        await world.router.save_player(player)


async def worker(
    world: World, deadline: float, report: TrafficReport, tick: Callable[[], None]
) -> None:
    """Run weighted random actions until ``deadline``."""
    actions = ACTIONS | TALLY_ACTIONS if world.tally is not None else ACTIONS
    if world.as_services:
        actions = as_services(actions)
    names = list(actions)
    weights = [actions[n][1] for n in names]
    clock = time.perf_counter
    while time.monotonic() < deadline:
        name = world.rng.choices(names, weights)[0]
        started = clock()
        try:
            await actions[name][0](world)
        except (ValidationError, NotFoundError) as exc:
            report.refused[f"{name}: {type(exc).__name__}"] += 1
        except Exception as exc:  # counted and reported: a workload run must not stop
            report.errors[f"{name}: {type(exc).__name__}"] += 1
            continue
        report.latencies.append(clock() - started)
        report.operations[name] += 1
        tick()


async def run_traffic(
    router: PersistenceRouter,
    *,
    seconds: float,
    concurrency: int,
    seed: int = 0,
    tick: Callable[[], None] = lambda: None,
    tally: int = 0,
    events: EventBus | None = None,
    services: bool = False,
) -> TrafficReport:
    """Drive the workload with ``concurrency`` workers for ``seconds``.

    With ``services`` each action runs as its calling service (``DEMO_SERVICES``); pass the
    router itself then, not a ``for_service`` view, whose own name would win.

    With ``tally`` > 0, that many players are set aside and accounted for in
    ``report.tally``; their events are counted on ``events`` when given.
    """
    world = await load_world(router, seed, tally)
    world.as_services = services
    report = TrafficReport(tally=world.tally)
    if world.tally is not None:
        await prepare_tally(world)
        if events is not None:
            world.tally.follow(events)
    started = time.monotonic()
    deadline = started + seconds
    try:
        await asyncio.gather(*(worker(world, deadline, report, tick) for _ in range(concurrency)))
    finally:
        if world.tally is not None and events is not None:
            world.tally.unfollow(events)
    report.seconds = time.monotonic() - started
    return report
