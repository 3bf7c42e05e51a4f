"""Calibration finds by itself the fields the database clock stamps.

The MUD's operations list none of the columns the clock fills (``clock`` and the ``volatile``
columns of their rows are empty). On a fresh database, with calibration at 100%, every group
the shadow records is then such a column (``DEFAULT now()`` in the schema), and calibration
judges each one ``noise``: none is ``real``, none stays ``open``. At the default 1% with the
warm-up, the same holds through a run that goes on after the verdicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.bootstrap import System
from app.operations import DECLARATIONS, build_registry, shadow_writes
from app.readiness import ReadinessRules, assess_system
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from routing.shadowing import CalibrationConfig, RunnerConfig, ShadowRunner
from shadow.noise import NoiseRule
from shadow.noise_groups import NoiseJudge
from tests.integration.shadow_runner.conftest import (
    Divergent,
    column_of,
    set_mode,
    stamped_columns,
)

pytestmark = pytest.mark.integration

ROUNDS = 6
#: Enough for a verdict when a field differs on every call, as a clock column does.
FEW = NoiseRule(min_aa_calls=5, min_ab_calls=5)
EXERCISED = (
    "update_player_last_active", "save_player", "create_item_instance", "create_container",
    "add_item_to_container", "update_container",
)  # fmt: skip


def _hand_listed() -> set[str]:
    """The columns the MUD's declarations list as the clock's: none."""
    named: set[str] = set()
    for d in DECLARATIONS:
        named |= d.clock
        for entity in (d.rows, *d.extra_rows.values()):
            for group in entity.groups if entity is not None else ():
                named |= group.volatile
    return named


def test_the_declarations_list_no_clock_column() -> None:
    assert _hand_listed() == set()


@contextlib.asynccontextmanager
async def _router(
    system: System, async_: Divergent, calibration: CalibrationConfig
) -> AsyncIterator[PersistenceRouter]:
    """A router over the MUD's declarations, with its own shadow runner on the system's engine
    (told the stored A/A runs, as the system's own runner is)."""
    router = PersistenceRouter(
        build_registry(DECLARATIONS),
        legacy=system.legacy,
        async_=async_,
        flags=system.flags,
        legacy_threads=4,
    )
    runner = ShadowRunner.for_router(
        # time enough that a busy machine does not turn a shadow into a shadow_timeout
        router, system.shadow.engine, shadow_writes(DECLARATIONS),
        RunnerConfig(shadow_timeout_s=20.0, write_hold_ms=5000), calibration=calibration,
    )  # fmt: skip
    runner.calibration.known = system.shadow.noise.aa_runs
    runner.install(router)
    router.runner = runner  # type: ignore[attr-defined]
    try:
        yield router
    finally:
        await runner.drain()
        await router.close()


@pytest.fixture
async def bare_router(system: System) -> AsyncIterator[PersistenceRouter]:
    """Calibration at 100 %, no warm-up."""
    async with _router(system, Divergent(system.async_layer), CalibrationConfig(100.0)) as router:
        yield router


async def _round(router: PersistenceRouter, player: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("update_player_last_active", (player.player_id,), {}),
        ("save_player", (dataclasses.replace(player, last_active=None),), {}),
        ("create_item_instance", (f"item_cal_{tag}", "junk.fish_scale"),
         {"owner_type": "player", "owner_id": str(player.player_id)}),
        ("create_container", ("environment",),
         {"room_id": player.current_room_id, "container_id": str(uuid.uuid4())}),
    ]  # fmt: skip
    for name, args, kwargs in calls:
        made = await getattr(router, name)(*args, **kwargs)
        await _settled(router)
    container = made.container_id
    await router.add_item_to_container(container, f"item_cal_{tag}")
    await _settled(router)
    await router.update_container(container, lock_state="locked")
    await _settled(router)


async def _settled(router: PersistenceRouter) -> None:
    """Wait for the call's comparisons: the next write of the entity would preempt them."""
    await router.runner.drain()  # type: ignore[attr-defined]


class TestNoiseDerived:
    """Without the hand-written lists, every group recorded is a listed column, judged noise."""

    async def test_finds_the_clock_columns(
        self, system: System, world: SeedSummary, bare_router: PersistenceRouter
    ) -> None:
        await set_mode(system, "shadow", ("player", "item", "container"))
        player = await system.router.get_player_by_id(world.player_ids[15])
        # that read's shadow runs after it answered, on another runner whose write watch does
        # not see the bare router's writes: let it finish before they start
        await system.shadow_runner.drain()
        for _ in range(ROUNDS):
            await _round(bare_router, player)
        shadow = system.shadow
        judge = NoiseJudge(shadow.pool, shadow.calibration, shadow.rules, shadow.rule_store, FEW)
        verdicts = await judge.verdicts()
        await judge.judge()

        stamped = await stamped_columns(system.database_url)
        found: dict[str, set[str]] = {}
        for v in verdicts:
            column = column_of(v.path)
            assert column in stamped, v.summary()
            assert v.status == "noise", v.summary()
            found.setdefault(v.operation, set()).add(column)
        assert set(found) == set(EXERCISED), found
        assert found["update_player_last_active"] == {"last_active"}
        # the engine is told the paths judged noise, per operation
        assert {
            op: {column_of(p) for p in paths} for (_, op), paths in judge.noise_paths.items()
        } == found
        groups = await system.divergences.groups()
        assert groups
        for g in groups:
            assert g.status == "noise", (g.operation, g.kind, g.diff_paths, g.noise_evidence)


#: The operations that stamp now(), driven from a fresh start with no hand-written list.
STAMPING = (
    "update_player_last_active", "save_player", "create_item_instance",
    "ensure_item_instance", "create_container", "add_item_to_container",
    "remove_item_from_container", "update_container",
)  # fmt: skip
#: Past the rule's 30 A/A and 30 A/B calls, still inside the warm-up: every call held.
WARM_ROUNDS = 32
WARMUP = 40
#: Rounds after the verdicts: mismatches of new signatures at noise paths are held, then noise.
AFTER_ROUNDS = 8


def _wrong_lock_state(original: Any) -> Any:
    """The async path's deterministic bug: every container it reads is sealed."""

    async def get_container(*args: Any, **kwargs: Any) -> Any:
        found = await original(*args, **kwargs)
        return None if found is None else dataclasses.replace(found, lock_state="sealed")

    return get_container


@pytest.fixture
async def warming_router(system: System) -> AsyncIterator[PersistenceRouter]:
    """No hand-written list, calibration at its default 1 % with the warm-up, and one bug."""
    bugged = Divergent(system.async_layer, get_container=_wrong_lock_state)
    async with _router(system, bugged, CalibrationConfig(1.0, warmup=WARMUP)) as router:
        yield router


async def _stamping_round(router: PersistenceRouter, player: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = {"owner_type": "player", "owner_id": str(player.player_id)}
    container = str(uuid.uuid4())
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("update_player_last_active", (player.player_id,), {}),
        ("save_player", (dataclasses.replace(player, last_active=None),), {}),
        ("create_item_instance", (f"item_a_{tag}", "junk.fish_scale"), owner),
        ("ensure_item_instance", (f"item_b_{tag}", "junk.fish_scale"), owner),
        ("create_container", ("environment",),
         {"room_id": player.current_room_id, "container_id": container}),
        ("add_item_to_container", (container, f"item_a_{tag}"), {}),
        ("remove_item_from_container", (container, f"item_a_{tag}"), {}),
        ("update_container", (container,), {"lock_state": "locked"}),
        ("get_container", (container,), {}),
    ]  # fmt: skip
    for name, args, kwargs in calls:
        await getattr(router, name)(*args, **kwargs)
        await _settled(router)


async def _judged_by_itself(system: System, deadline_s: float = 30.0) -> None:
    """Wait for the system's own periodic judgement to leave nothing held or open of the clock."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline_s
    while loop.time() < until:
        groups = await system.divergences.groups()
        clock = [g for g in groups if g.operation != "get_container"]
        if not system.shadow.engine.held.waiting() and all(g.status == "noise" for g in clock):
            return
        await asyncio.sleep(0.5)


class TestFreshStartWithoutAHandList:
    """Warm-up and holding: clock columns turn noise by themselves; a real bug stays open."""

    async def test_clock_groups_are_noise_and_the_bug_counts(
        self, system: System, world: SeedSummary, warming_router: PersistenceRouter
    ) -> None:
        await set_mode(system, "shadow", ("player", "item", "container"))
        player = await system.router.get_player_by_id(world.player_ids[16])
        await system.shadow_runner.drain()
        seen: list[Any] = []
        system.shadow.engine.add_listener(lambda r: seen.append(r) if r.mismatched else None)

        for _ in range(WARM_ROUNDS):
            await _stamping_round(warming_router, player)
        await _judged_by_itself(system)

        assert system.shadow.engine.held.waiting() == {}
        stamped = await stamped_columns(system.database_url)
        groups = await system.divergences.groups()
        [bug] = [g for g in groups if g.operation == "get_container"]
        assert bug.status == "open" and bug.diff_paths == ("root['lock_state']",), bug
        clock = [g for g in groups if g is not bug]
        for g in clock:
            assert g.status == "noise", (g.operation, g.diff_paths, g.noise_evidence)
            assert g.status_by == "calibration" and g.noise_evidence is not None
            for path in g.noise_evidence["paths"]:
                assert path["status"] == "noise" and path["aa"]["n"] >= 30, path
                assert path["ab"]["n"] >= 30 and path["rule"], path
            assert {column_of(p) for p in g.diff_paths} <= stamped, g.diff_paths
        noisy = {g.operation for g in clock}
        assert noisy >= set(STAMPING) - {"ensure_item_instance"}, noisy
        # what the guard is handed: only the real bug ever mismatched
        assert {r.operation for r in seen} == {"get_container"}
        assert len(seen) == WARM_ROUNDS

        ready = {r.domain: r for r in await assess_system(system, ReadinessRules())}
        assert ready["player"].open_groups == ready["item"].open_groups == 0
        assert ready["container"].open_groups == 1
        figures = {o.operation: o for r in ready.values() for o in r.operations}
        assert figures["get_container"].divergences == WARM_ROUNDS
        for name in STAMPING:
            assert figures[name].divergences == 0, figures[name]

        # the warm-up is over and the verdicts stand: a long run goes on recording no open
        # group of the clock, whatever signature its mismatches take
        calibration = warming_router.runner.calibration  # type: ignore[attr-defined]
        stamping = [warming_router.registry.get(n) for n in STAMPING]
        rounds = WARM_ROUNDS
        while any(calibration.warming(op) for op in stamping):  # until a judgement saw 40
            assert rounds < 4 * WARMUP, {op.name: calibration.runs_of(op) for op in stamping}
            await _stamping_round(warming_router, player)
            rounds += 1
            await asyncio.sleep(0.2)
        for _ in range(AFTER_ROUNDS):
            await _stamping_round(warming_router, player)
        rounds += AFTER_ROUNDS
        await _judged_by_itself(system)
        await system.divergences.flush()
        assert system.shadow.engine.held.waiting() == {}
        groups = await system.divergences.groups()
        [bug] = [g for g in groups if g.operation == "get_container"]
        assert bug.status == "open" and bug.count == rounds, (bug.count, rounds)
        for g in groups:
            if g is not bug:
                assert g.status == "noise", (g.operation, g.diff_paths, g.noise_evidence)
        assert {r.operation for r in seen} == {"get_container"}
        assert len(seen) == rounds
