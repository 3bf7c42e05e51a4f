"""Calibration finds by itself the fields the database clock stamps.

The operations are declared here without their hand-written lists (``clock`` and the
``volatile`` columns of their rows), on a fresh database, with calibration at 100%. Every
group the shadow records is then a column those lists name, and calibration judges each one
``noise``: none is ``real``, none stays ``open``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.bootstrap import System
from app.operations import DECLARATIONS, Declaration, build_registry, shadow_writes
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from routing.shadowing import CalibrationConfig, Entity, RunnerConfig, ShadowRunner
from shadow.noise import NoiseRule
from shadow.noise_groups import NoiseJudge
from tests.integration.shadow_runner.conftest import Divergent, set_mode

pytestmark = pytest.mark.integration

ROUNDS = 6
#: Enough for a verdict when a field differs on every call, as a clock column does.
FEW = NoiseRule(min_aa_calls=5, min_ab_calls=5)
EXERCISED = (
    "update_player_last_active", "save_player", "create_item_instance", "create_container",
    "add_item_to_container", "update_container",
)  # fmt: skip


def _bare(entity: Entity | None) -> Entity | None:
    if entity is None:
        return None
    groups = tuple(dataclasses.replace(g, volatile=frozenset()) for g in entity.groups)
    return Entity(entity.kind, groups)


def _without_hand_lists(d: Declaration) -> Declaration:
    extra = {name: _bare(e) for name, e in d.extra_rows.items()}
    return dataclasses.replace(d, clock=frozenset(), rows=_bare(d.rows), extra_rows=extra)


def _hand_listed() -> dict[str, set[str]]:
    """Per operation, the columns its hand-written lists name."""
    named: dict[str, set[str]] = {}
    for d in DECLARATIONS:
        columns = set(d.clock)
        for entity in (d.rows, *d.extra_rows.values()):
            for group in entity.groups if entity is not None else ():
                columns |= group.volatile
        named[d.name] = columns
    return named


@pytest.fixture
async def bare_router(system: System) -> AsyncIterator[PersistenceRouter]:
    declarations = tuple(_without_hand_lists(d) for d in DECLARATIONS)
    router = PersistenceRouter(
        build_registry(declarations),
        legacy=system.legacy,
        async_=Divergent(system.async_layer),
        flags=system.flags,
        legacy_threads=4,
    )
    runner = ShadowRunner.for_router(
        # time enough that a busy machine does not turn a shadow into a shadow_timeout
        router, system.shadow.engine, shadow_writes(declarations),
        RunnerConfig(shadow_timeout_s=20.0, write_hold_ms=5000),
        calibration=CalibrationConfig(100.0),
    )  # fmt: skip
    runner.install(router)
    router.runner = runner  # type: ignore[attr-defined]
    yield router
    await runner.drain()
    await router.close()


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

        listed = _hand_listed()
        found: dict[str, set[str]] = {}
        for v in verdicts:
            column = v.path.rsplit("['", 1)[-1].rstrip("']")
            assert column in listed[v.operation], v.summary()
            assert v.status == "noise", v.summary()
            found.setdefault(v.operation, set()).add(column)
        assert set(found) == set(EXERCISED), found
        assert found["update_player_last_active"] == {"last_active"}
        groups = await system.divergences.groups()
        assert groups
        for g in groups:
            assert g.status == "noise", (g.operation, g.kind, g.diff_paths, g.noise_evidence)
