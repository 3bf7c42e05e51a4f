"""A shadow write reads back exactly the state it restored, whoever commits meanwhile.

The race, made on purpose: a primary puts an item in a container and commits. Another writer
then locks the container, puts a second item in it, and holds its transaction open. The
shadow starts: its restore deletes the rows the primary's capture did not see (the second
item's row is not committed yet, so it is not among them), then waits for the container's
lock; the writer commits while it waits. Under READ COMMITTED the shadow's read-back, a later
statement with a newer snapshot, would then show the second item, and the comparison would
report a divergence that neither path made. The shadow must give way and start again, and
read back exactly what the primary did.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from typing import Any

import asyncpg
import pytest

from app.bootstrap import System
from app.operations import build_registry, shadow_writes
from persistence.seed import SeedSummary
from routing.shadowing import RunnerConfig
from routing.shadowing.plans import compile_plans
from routing.shadowing.rows import effects
from routing.shadowing.sides import Outcome
from routing.shadowing.transactions import (
    primary_write_legacy,
    shadow_write_async,
    shadow_write_legacy,
)
from tests.integration.shadow_runner.conftest import stamped_columns

pytestmark = pytest.mark.integration

#: Long enough that the shadow is still waiting for the container when the writer commits.
WAITING = RunnerConfig(lock_timeout_ms=5_000, write_hold_ms=10_000)
HOLD_S = 0.3


async def open_container(url: str) -> Any:
    """An unlocked room container with at least two free slots."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT c.container_id FROM containers c WHERE c.lock_state = 'unlocked'"
            " AND c.room_id IS NOT NULL AND c.capacity_slots >= 2 + (SELECT count(*)"
            " FROM container_contents cc WHERE cc.container_id = c.container_id)"
            " ORDER BY c.container_id LIMIT 1"
        )
    finally:
        await conn.close()


async def new_item(system: System, room_id: str) -> str:
    item_id = f"race-{uuid.uuid4().hex[:12]}"
    await system.async_layer.create_item_instance(
        item_id, "junk.fish_scale", owner_type="room", owner_id=room_id
    )
    return item_id


async def put_and_hold(url: str, container_id: Any, item_id: str) -> asyncpg.Connection:
    """Another writer: the container locked, the item put in a free slot, not committed."""
    conn = await asyncpg.connect(url)
    await conn.execute("BEGIN")
    await conn.execute("SELECT 1 FROM containers WHERE container_id = $1 FOR UPDATE", container_id)
    await conn.execute(
        "INSERT INTO container_contents (container_id, item_instance_id, position)"
        " SELECT $1, $2, min(s) FROM generate_series(0, 19) s WHERE s NOT IN"
        " (SELECT position FROM container_contents WHERE container_id = $1)",
        container_id,
        item_id,
    )
    await conn.execute(
        "UPDATE containers SET updated_at = now() WHERE container_id = $1", container_id
    )
    return conn


@pytest.mark.parametrize("shadow_path", ["legacy", "async"])
async def test_a_commit_while_the_shadow_waits_is_not_read_back(
    system: System, world: SeedSummary, shadow_path: str
) -> None:
    url = system.database_url
    container_id = await open_container(url)
    container = await system.async_layer.get_container(container_id)
    first = await new_item(system, container.room_id)
    second = await new_item(system, container.room_id)

    plan = compile_plans(build_registry(), system.legacy, system.async_layer, shadow_writes())[
        "add_item_to_container"
    ]
    args = (str(container_id), first)
    keys = plan.keys(args, {}, legacy=False)
    primary = await asyncio.to_thread(
        primary_write_legacy,
        system.legacy,
        lambda: system.legacy.add_item_to_container(*args),
        plan.capture(keys, "psycopg2"),
    )
    assert primary.error is None and primary.pre is not None and primary.after is not None

    writer = await put_and_hold(url, container_id, second)
    try:
        shadow = asyncio.ensure_future(run_shadow(system, shadow_path, plan, keys, args, primary))
        await asyncio.sleep(HOLD_S)  # the shadow has restored and waits for the container
        assert not shadow.done()
        await writer.execute("COMMIT")
        done = await asyncio.wait_for(shadow, 10)
    finally:
        await writer.close()

    try:
        assert done.error is None and done.skipped is None and done.after is not None
        # the columns now() fills differ between the two transactions, as they should
        stamped = await stamped_columns(url)
        assert effects(done.after, stamped) == effects(primary.after, stamped)
        assert second not in done.value.items
    finally:
        await remove_items(url, [first, second])


async def remove_items(url: str, item_ids: list[str]) -> None:
    """Leave the shared world as it was: the items out of the container, and gone."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DELETE FROM container_contents WHERE item_instance_id = ANY($1)", item_ids
        )
        await conn.execute("DELETE FROM item_instances WHERE item_instance_id = ANY($1)", item_ids)
    finally:
        await conn.close()


async def run_shadow(
    system: System, path: str, plan: Any, keys: Any, args: tuple[Any, ...], primary: Outcome
) -> Outcome:
    """The shadow write of ``args`` on ``path``, from the primary's captured rows."""
    if path == "legacy":
        capture = plan.capture(keys, "psycopg2")
        return await asyncio.to_thread(
            contextvars.Context().run, shadow_write_legacy, system.legacy,
            lambda: system.legacy.add_item_to_container(*args), capture, primary.pre, WAITING,
        )  # fmt: skip
    capture = plan.capture(keys, "asyncpg")
    coro = shadow_write_async(
        system.async_layer,
        lambda: system.async_layer.add_item_to_container(*args),
        capture,
        primary.pre,
        WAITING,
    )
    return await asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
