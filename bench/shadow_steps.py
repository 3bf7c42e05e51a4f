"""The shadow runner's steps, each in CPU µs per call, on and off the caller's path.

Each step is the runner's own code on one real player (loaded from the bench database),
timed alone with ``cpu_us_per_call`` (median of 5 batches). The caller's path of a shadowed
read is: the write watch's mark, the arguments (copied only for a call that updates them),
the snapshot of the primary's value, counting the call, and spawning the background task.
Everything after that runs in the background.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from app.operations import build_registry, shadow_writes
from bench.harness import cpu_us_per_call
from bench.router_overhead import player_ids
from routing.shadowing.admission import Admission
from routing.shadowing.judge import observation, snapshot
from routing.shadowing.plans import compile_reads
from routing.shadowing.sides import Outcome, private_arguments
from shadow.compare import compare
from shadow.observation import Observation

BENCH = "shadow runner steps"


def run(url: str) -> list[dict[str, Any]]:
    """Every step's CPU µs per call; rows for the report."""
    return asyncio.run(_measure(url))


async def _measure(url: str) -> list[dict[str, Any]]:
    from persistence.async_layer import AsyncPersistenceLayer
    from persistence.events import EventBus
    from persistence.legacy import PersistenceLayer

    events = EventBus()
    legacy = PersistenceLayer(url, event_bus=events, pool_size=2)
    async_layer = AsyncPersistenceLayer(events, database_url=url, pool_size=2)
    registry = build_registry()
    try:
        player = legacy.get_player(player_ids(url)[0])
        plans = compile_reads(registry, legacy, async_layer, shadow_writes())
    finally:
        legacy.close()
    read, damage = registry.get("get_player_by_id"), registry.get("damage_player")
    admission = Admission(16)
    args: tuple[Any, ...] = (player.player_id,)
    outcome = Outcome(player, duration_s=0.001)
    frozen = snapshot(outcome)
    loop = asyncio.get_running_loop()

    async def nothing() -> None:
        return None

    def watch() -> None:
        watched = plans[read.name].watched(args, {}, legacy=False)
        admission.unraced(watched)

    def spawn() -> None:
        loop.create_task(nothing(), context=contextvars.Context()).cancel()

    def slot() -> None:
        if admission.slots.take():
            admission.slots.give_back()

    pair = (observation("legacy", frozen, read), observation("async", frozen, read))
    steps: list[tuple[str, str, Any]] = [
        ("caller", "write watch mark (read)", watch),
        ("caller", "arguments, read (no copy)", lambda: private_arguments(read, args, {})),
        (
            "caller",
            "arguments, damage_player (deep copies)",
            lambda: private_arguments(damage, (player, 1), {}),
        ),
        ("caller", "snapshot of the primary's Player", lambda: snapshot(outcome)),
        ("caller", "task creation (spawn)", spawn),
        ("background", "slot take + give back", slot),
        (
            "background",
            "observations of both sides",
            lambda: [observation("legacy", frozen, read), observation("async", frozen, read)],
        ),
        ("background", "compare (equal Players)", lambda: compare(*pair)),
        ("background", "Observation built", lambda: Observation("async", 1, None, 0.001)),
    ]
    rows = []
    for where, step, fn in steps:
        calls = 2000 if "copies" in step or "snapshot" in step or "compare" in step else 20000
        rows.append({"bench": BENCH, "path": where, "step": step,
                     "cpu_us": round(cpu_us_per_call(fn, calls=calls), 2)})  # fmt: skip
    return rows
