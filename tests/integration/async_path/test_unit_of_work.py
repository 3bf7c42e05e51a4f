"""The async unit of work: commit, rollback, events, context binding and nesting."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from persistence.async_layer import AsyncPersistenceLayer
from persistence.errors import NotFoundError, TransactionAborted, ValidationError
from persistence.events import HPChanged, PlayerLeveledUp, XPGained
from persistence.repositories import HealthRepository
from tests.integration.async_path.conftest import EventLog, PlayerFactory, run_sql

pytestmark = pytest.mark.integration


def stored_hp(url: str, player_id: object) -> int:
    rows = run_sql(
        url,
        "SELECT (stats->>'current_health')::int FROM players WHERE player_id = %s",
        (str(player_id),),
    )
    return int(rows[0][0])  # type: ignore[call-overload]


class TestCommit:
    """Nothing is visible or published until ``commit()``; then both happen."""

    async def test_commit_persists_and_publishes(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged, XPGained, PlayerLeveledUp)
        player = await make_player()
        async with layer.transaction() as uow:
            await layer.damage_player(player, 10)
            await layer.gain_experience(player, 150)
            assert stored_hp(world, player.player_id) == 100
            assert log.events == []
            assert [type(e) for e in uow.events] == [HPChanged, XPGained, PlayerLeveledUp]
            await uow.commit()
            assert uow.events == []
        assert stored_hp(world, player.player_id) == 90
        assert [type(e) for e in log.events] == [HPChanged, XPGained, PlayerLeveledUp]
        assert isinstance(log.events[0], HPChanged) and log.events[0].new_hp == 90

    async def test_reads_inside_see_uncommitted_writes(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        outsider = AsyncPersistenceLayer(database_url=world, pool_size=1)
        async with layer.transaction():
            await layer.damage_player(player, 30)
            inside = await layer.get_player_by_id(player.player_id)
            outside = await outsider.get_player_by_id(player.player_id)
        await outsider.close()
        assert inside is not None and inside.stats.current_health == 70
        assert outside is not None and outside.stats.current_health == 100

    async def test_work_after_commit_needs_its_own_commit(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        async with layer.transaction() as uow:
            await layer.damage_player(player, 5)
            await uow.commit()
            await layer.damage_player(player, 5)
        assert stored_hp(world, player.player_id) == 95


class TestRollback:
    """Leaving without commit, or ``rollback()``, undoes the writes and drops the events."""

    async def test_exit_without_commit_rolls_back(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged)
        player = await make_player()
        async with layer.transaction() as uow:
            await layer.damage_player(player, 40)
            assert len(uow.events) == 1
        assert stored_hp(world, player.player_id) == 100
        assert log.events == []

    async def test_exception_rolls_back_and_propagates(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        with pytest.raises(LookupError):
            async with layer.transaction():
                await layer.damage_player(player, 40)
                raise LookupError("boom")
        assert stored_hp(world, player.player_id) == 100

    async def test_rollback_then_commit_keeps_only_the_later_work(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged)
        player = await make_player()
        async with layer.transaction() as uow:
            await layer.damage_player(player, 40)
            await uow.rollback()
            assert uow.events == []
            await layer.damage_player(player, 1)
            await uow.commit()
        assert stored_hp(world, player.player_id) == 99
        assert [e.delta for e in log.events if isinstance(e, HPChanged)] == [-1]


class TestBinding:
    """The unit of work belongs to the task context and to the database, not to the object."""

    async def test_nested_transaction_is_refused(self, layer: AsyncPersistenceLayer) -> None:
        async with layer.transaction():
            with pytest.raises(RuntimeError, match="already open"):
                async with layer.transaction():
                    pass

    async def test_repositories_on_the_same_database_join_it(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged)
        own_bus = EventLog()
        own_bus.watch(HPChanged)
        health = HealthRepository(own_bus.bus, database=layer.database)
        player = await make_player()
        async with layer.transaction() as uow:
            await health.damage_player(player, 7)
            assert stored_hp(world, player.player_id) == 100
            await uow.commit()
        assert stored_hp(world, player.player_id) == 93
        assert len(log.events) == 1 and own_bus.events == []

    async def test_other_tasks_do_not_see_it(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        opened, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with layer.transaction():
                await layer.damage_player(player, 50)
                opened.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await opened.wait()
        seen = await layer.get_player_by_id(player.player_id)
        release.set()
        await task
        assert seen is not None and seen.stats.current_health == 100
        assert stored_hp(world, player.player_id) == 100

    async def test_tasks_spawned_inside_share_it_one_at_a_time(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player(max_health=500, current_health=500)
        async with layer.transaction() as uow:
            await asyncio.gather(*(layer.damage_player(player, 1) for _ in range(20)))
            await uow.commit()
        assert stored_hp(world, player.player_id) == 480

    async def test_without_a_unit_of_work_each_write_publishes_at_once(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory
    ) -> None:
        log.watch(HPChanged)
        player = await make_player()
        await layer.damage_player(player, 3)
        assert len(log.events) == 1


class TestFailedStatement:
    """A statement the database refused fails the unit of work until it is rolled back."""

    async def test_later_calls_and_commit_raise_transaction_aborted(
        self, layer: AsyncPersistenceLayer, log: EventLog, make_player: PlayerFactory, world: str
    ) -> None:
        log.watch(HPChanged)
        player = await make_player()
        await layer.create_item_instance("taken", "lantern")
        async with layer.transaction() as uow:
            await layer.damage_player(player, 10)
            with pytest.raises(ValidationError, match="already exists"):
                await layer.create_item_instance("taken", "lantern")
            assert uow.failed
            with pytest.raises(TransactionAborted, match="roll it back"):
                await layer.get_player_by_id(player.player_id)
            with pytest.raises(TransactionAborted, match="nothing was committed"):
                await uow.commit()
            assert not uow.failed and uow.events == []
            await layer.damage_player(player, 1)
            await uow.commit()
        assert stored_hp(world, player.player_id) == 99
        assert [e.new_hp for e in log.events if isinstance(e, HPChanged)] == [99]

    async def test_rollback_makes_it_usable_again(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        async with layer.transaction() as uow:
            with pytest.raises(ValidationError):
                await layer.create_item_instance("x", "no.such.prototype")
            await uow.rollback()
            await layer.damage_player(player, 5)
            await uow.commit()
        assert stored_hp(world, player.player_id) == 95

    async def test_a_check_before_sql_does_not_fail_it(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        async with layer.transaction() as uow:
            await layer.damage_player(player, 5)
            with pytest.raises(ValidationError):
                await layer.update_player_stat_field(player.player_id, "is_admin", 1)
            with pytest.raises(NotFoundError):
                await layer.delete_player(uuid.uuid4())
            assert not uow.failed
            await uow.commit()
        assert stored_hp(world, player.player_id) == 95


class TestCancelled:
    """A unit of work cancelled mid-statement, and again and again while it ends."""

    async def test_rolled_back_and_released_without_an_error_report(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        player = await make_player()
        loop = asyncio.get_running_loop()
        reported: list[dict[str, object]] = []
        previous = loop.get_exception_handler()
        loop.set_exception_handler(lambda _loop, context: reported.append(context))

        async def slow_write() -> None:
            async with layer.transaction() as uow:
                await layer.damage_player(player, 10)
                await uow.read(lambda conn: conn.execute("SELECT pg_sleep(5)"))

        try:
            task = asyncio.create_task(slow_write())
            await asyncio.sleep(0.2)  # inside pg_sleep, with the damage written
            for _ in range(200):  # cancelled, then cancelled again while it rolls back
                task.cancel()
                await asyncio.sleep(0.001)
                if task.done():
                    break
            with pytest.raises(asyncio.CancelledError):
                await task
            async with layer.transaction():  # the pool still serves, and rolls back
                await layer.heal_player(player, 1)
            await asyncio.sleep(0.05)
        finally:
            loop.set_exception_handler(previous)
        assert reported == []
        assert stored_hp(world, player.player_id) == 100
        in_transaction = run_sql(
            world,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%'",
        )
        assert in_transaction == [(0,)]

    @pytest.mark.busy_cpu
    async def test_cancelled_as_it_begins_hands_back_no_open_transaction(
        self, layer: AsyncPersistenceLayer, make_player: PlayerFactory, world: str
    ) -> None:
        """Cancelled at every point of its first statements, with a core kept busy meanwhile.

        A ``BEGIN`` cancelled in flight still opens the transaction on the server once it
        lands; the unit of work must roll it back before the pool resets the connection,
        which would report "Resetting connection with an active transaction".
        """
        player = await make_player()
        loop = asyncio.get_running_loop()
        reported: list[dict[str, object]] = []
        previous = loop.get_exception_handler()
        loop.set_exception_handler(lambda _loop, context: reported.append(context))

        async def write() -> None:
            async with layer.transaction() as uow:
                await layer.damage_player(player, 1)
                await uow.rollback()

        try:
            for attempt in range(400):
                task = asyncio.create_task(write())
                for _ in range(attempt % 8):  # a different point of the exchange each time
                    await asyncio.sleep(0)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            async with layer.transaction():  # the pool still serves
                assert await layer.get_player_by_id(player.player_id) is not None
            await asyncio.sleep(0.05)
        finally:
            loop.set_exception_handler(previous)
        assert [f"{c.get('message')}: {c.get('exception')!r}" for c in reported] == []
        assert stored_hp(world, player.player_id) == 100  # every write was rolled back
