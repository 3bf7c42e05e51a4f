"""The shipped units of work, on a real PostgreSQL: psycopg2 (``SyncUnits``) and asyncpg
(``AsyncUnits``) alike: safe by default, joined by calls inside them, one per context."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import psycopg2
import pytest

from units import AsyncUnits, Session, SyncUnits, UnitAlreadyOpen, UnitFailed
from units.aio import DRIVER_ERRORS, connection_lost

pytestmark = pytest.mark.integration


@pytest.fixture
def table(database_url: str) -> Iterator[str]:
    """A scratch table ``unit_notes`` of its own, dropped afterwards."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE unit_notes (note text PRIMARY KEY)")
    try:
        yield database_url
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE unit_notes")
        conn.close()


def notes(url: str) -> list[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT note FROM unit_notes ORDER BY note")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def add(note: str) -> Any:
    def work(session: Session) -> None:
        session.cursor.execute("INSERT INTO unit_notes VALUES (%s)", (note,))
        session.emit([f"added {note}"])

    return work


def add_async(note: str) -> Any:
    async def work(conn: Any) -> tuple[None, list[object]]:
        await conn.execute("INSERT INTO unit_notes VALUES ($1)", note)
        return None, [f"added {note}"]

    return work


async def backend_gone(url: str, pid: int, wait_s: float = 10.0) -> bool:
    """Whether the server process ``pid`` ends within ``wait_s`` (its connection was closed)."""
    for _ in range(int(wait_s / 0.05)):
        alive = execute_one(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        if alive == 0:
            return True
        await asyncio.sleep(0.05)
    return False


def execute_one(url: str, sql: str, params: Any) -> Any:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    finally:
        conn.close()


async def cut_mid_statement(units: AsyncUnits) -> list[int]:
    """Cancel a unit of work during its ``pg_sleep``; the server pid of its connection."""
    used: list[int] = []
    sleeping = asyncio.Event()

    async def slow(conn: Any) -> tuple[None, list[object]]:
        used.append(conn.get_server_pid())
        await conn.execute("INSERT INTO unit_notes VALUES ('cut short')")
        sleeping.set()
        await conn.execute("SELECT pg_sleep(10)")
        return None, []

    async def in_unit() -> None:
        async with units.transaction():
            await units.run(slow)

    task = asyncio.create_task(in_unit())
    await asyncio.wait_for(sleeping.wait(), 10)
    await asyncio.sleep(0.1)  # the sleep is under way on the server
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return used


@pytest.fixture
def sync_units(table: str) -> Iterator[tuple[SyncUnits, list[object]]]:
    published: list[object] = []
    units = SyncUnits(lambda: psycopg2.connect(table), publish=published.extend)
    yield units, published
    units.close()


@pytest.fixture
async def async_units(table: str) -> AsyncIterator[tuple[AsyncUnits, list[object]]]:
    published: list[object] = []
    units = AsyncUnits(table, publish=published.extend, pool_size=4)
    yield units, published
    await units.close()


class TestSyncUnits:
    """psycopg2: rolled back unless committed, joined, one per context, failed stays failed."""

    def test_a_unit_rolls_back_unless_committed(self, sync_units: Any, table: str) -> None:
        units, published = sync_units
        with units.transaction():
            units.run(add("dropped"))
        with units.transaction() as unit:
            units.run(add("kept"))
            assert unit.events == ["added kept"]
            unit.commit()
        assert notes(table) == ["kept"] and published == ["added kept"]

    def test_a_call_alone_commits_itself(self, sync_units: Any, table: str) -> None:
        units, published = sync_units
        units.run(add("alone"))
        assert notes(table) == ["alone"] and published == ["added alone"]

    def test_a_second_unit_in_one_context_is_refused(self, sync_units: Any) -> None:
        units, _ = sync_units
        with units.transaction(), pytest.raises(UnitAlreadyOpen), units.transaction():
            pass

    def test_each_thread_has_its_own_unit(self, sync_units: Any, table: str) -> None:
        units, _ = sync_units
        with units.transaction():
            units.run(add("mine"))
            worker = threading.Thread(target=units.run, args=(add("theirs"),))
            worker.start()
            worker.join()
        assert notes(table) == ["theirs"]

    def test_a_failed_statement_fails_the_unit(self, sync_units: Any, table: str) -> None:
        units, published = sync_units
        with units.transaction() as unit:
            units.run(add("first"))
            with pytest.raises(psycopg2.errors.UniqueViolation):
                units.run(add("first"))
            with pytest.raises(UnitFailed):
                units.run(add("second"))
            with pytest.raises(UnitFailed):
                unit.commit()
        assert notes(table) == [] and published == []

    def test_a_refusal_raised_by_the_work_leaves_the_unit_usable(
        self, sync_units: Any, table: str
    ) -> None:
        units, _ = sync_units

        def refuse(session: Session) -> None:
            raise LookupError("no such thing")

        with units.transaction() as unit:
            units.run(add("kept"))
            with pytest.raises(LookupError):
                units.run(refuse)
            unit.commit()
        assert notes(table) == ["kept"]


class _CountingSource:
    """A connection source of our own: one connection, handed out and taken back."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(url)
        self.acquired = self.released = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self.conn

    def release(self, conn: Any) -> None:
        assert conn is self.conn
        self.released += 1

    def close(self) -> None:
        self.conn.close()


class NoteTaken(Exception):
    """The team's own error for a duplicate note."""


class Aborted(Exception):
    """The team's own error for a failed unit of work."""


def team_errors(exc: Exception) -> Exception:
    if isinstance(exc, psycopg2.errors.UniqueViolation):
        return NoteTaken("that note is taken")
    if isinstance(exc, UnitFailed):
        return Aborted(str(exc))
    return exc


class NoteSession(Session):
    __slots__ = ()

    def count(self) -> int:
        row = self.one("SELECT count(*) AS n FROM unit_notes")
        assert row is not None
        return int(row["n"])


class TestSyncUnitsHooks:
    """A pool of the team's own, its exception tree, and its own ``Session``."""

    def test_connections_come_from_the_source_and_go_back_to_it(self, table: str) -> None:
        source = _CountingSource(table)
        units = SyncUnits(source=source)
        units.run(add("alone"))
        with units.transaction() as unit:
            units.run(add("joined"))
            unit.commit()
        assert (source.acquired, source.released) == (2, 2)
        assert notes(table) == ["alone", "joined"]
        units.close()
        assert source.conn.closed

    def test_connect_and_source_are_one_or_the_other(self, table: str) -> None:
        with pytest.raises(ValueError, match="not both"):
            SyncUnits(lambda: psycopg2.connect(table), source=_CountingSource(table))
        with pytest.raises(ValueError, match="connect or source"):
            SyncUnits()

    def test_translate_maps_driver_and_unit_errors(self, table: str) -> None:
        units = SyncUnits(lambda: psycopg2.connect(table), translate=team_errors)
        with units.transaction() as unit:
            units.run(add("first"))
            with pytest.raises(NoteTaken) as raised:
                units.run(add("first"))
            assert isinstance(raised.value.__cause__, psycopg2.errors.UniqueViolation)
            assert unit.failed
            with pytest.raises(Aborted, match="roll it back"):
                units.run(add("second"))
            with pytest.raises(Aborted, match="nothing was committed"):
                unit.commit()
        assert notes(table) == []
        units.close()

    def test_each_call_gets_the_session_class_given(self, table: str) -> None:
        units = SyncUnits(lambda: psycopg2.connect(table), session=NoteSession)
        units.run(add("one"))
        assert units.run(lambda session: session.count()) == 1  # type: ignore[attr-defined]
        units.close()


class TestAsyncUnits:
    """asyncpg: the same, plus a pool per loop and a connection a cancelled task leaves."""

    async def test_a_unit_rolls_back_unless_committed(self, async_units: Any, table: str) -> None:
        units, published = async_units
        async with units.transaction():
            await units.run(add_async("dropped"))
        async with units.transaction() as unit:
            await units.run(add_async("kept"))
            await unit.commit()
        await units.run(add_async("alone"))
        assert notes(table) == ["alone", "kept"]
        assert published == ["added kept", "added alone"]

    async def test_a_second_unit_in_one_context_is_refused(self, async_units: Any) -> None:
        units, _ = async_units
        async with units.transaction():
            with pytest.raises(UnitAlreadyOpen):
                async with units.transaction():
                    pass

    async def test_a_unit_that_runs_nothing_sends_nothing(self, async_units: Any) -> None:
        units, _ = async_units
        pool = await units.pool()
        async with units.transaction() as unit:
            await unit.commit()  # no BEGIN was sent, so there is nothing to commit
        assert pool.get_size() >= 1

    async def test_a_failed_statement_fails_the_unit(self, async_units: Any, table: str) -> None:
        import asyncpg

        units, published = async_units
        async with units.transaction() as unit:
            await units.run(add_async("first"))
            with pytest.raises(asyncpg.UniqueViolationError):
                await units.run(add_async("first"))
            with pytest.raises(UnitFailed):
                await unit.commit()
        assert notes(table) == [] and published == []

    async def test_a_cancelled_statement_never_returns_its_connection(
        self, async_units: Any, table: str
    ) -> None:
        units, _ = async_units
        used = await cut_mid_statement(units)
        assert await backend_gone(table, used[0])
        assert notes(table) == []
        await units.run(add_async("after"))  # the pool still serves
        assert notes(table) == ["after"]

    async def test_each_event_loop_gets_its_own_pool(self, async_units: Any, table: str) -> None:
        units, _ = async_units
        here = await units.pool()

        def other_loop() -> Any:
            async def run() -> Any:
                pool = await units.pool()
                await units.run(add_async("other loop"))
                await units.close()
                return pool

            return asyncio.run(run())

        there = await asyncio.to_thread(other_loop)
        assert there is not here
        assert notes(table) == ["other loop"]
        assert await units.pool() is here


class _Health:
    """Counts what ``AsyncUnits`` tells its health."""

    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        self.successes = 0

    def failed(self, error: BaseException) -> None:
        self.failures.append(error)

    def succeeded(self) -> None:
        self.successes += 1


def team_errors_async(exc: Exception) -> Exception:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return NoteTaken("that note is taken")
    if isinstance(exc, UnitFailed):
        return Aborted(str(exc))
    return exc


class TestAsyncUnitsHooks:
    """Its exception tree, its health, its pool options, a publisher per unit, closing."""

    async def test_translate_maps_driver_and_unit_errors(self, table: str) -> None:
        units = AsyncUnits(table, translate=team_errors_async, pool_size=2)
        try:
            async with units.transaction() as unit:
                await units.run(add_async("first"))
                with pytest.raises(NoteTaken) as raised:
                    await units.run(add_async("first"))
                assert isinstance(raised.value.__cause__, asyncpg.UniqueViolationError)
                assert unit.failed
                with pytest.raises(Aborted, match="roll it back"):
                    await units.run(add_async("second"))
                with pytest.raises(Aborted, match="nothing was committed"):
                    await unit.commit()
            assert notes(table) == []
        finally:
            await units.close()

    async def test_a_lost_connection_is_told_to_health_and_replaced(self, table: str) -> None:
        health = _Health()
        units = AsyncUnits(table, health=health, pool_size=2)
        try:
            async with units.transaction() as unit:
                pid = await unit.read(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
                execute_one(table, "SELECT pg_terminate_backend(%s)", (pid,))
                assert await backend_gone(table, pid)
                with pytest.raises(DRIVER_ERRORS):
                    await unit.read(lambda conn: conn.fetchval("SELECT 1"))
            assert health.failures and connection_lost(health.failures[0])
            await units.run(add_async("after"))  # a fresh connection serves
            assert notes(table) == ["after"]
        finally:
            await units.close()

    async def test_pool_options_reach_the_pool(self, table: str) -> None:
        options = {"min_size": 0, "server_settings": {"application_name": "units-test"}}
        units = AsyncUnits(table, pool_options=options, pool_size=2)
        try:
            async with units.transaction() as unit:
                name = await unit.read(lambda conn: conn.fetchval("SHOW application_name"))
            assert name == "units-test"
        finally:
            await units.close()

    async def test_a_unit_publishes_to_the_publisher_it_was_given(
        self, async_units: Any, table: str
    ) -> None:
        units, published = async_units
        mine: list[object] = []
        async with units.transaction(publish=mine.extend) as unit:
            await units.run(add_async("mine"))
            await unit.commit()
        assert mine == ["added mine"] and published == []

    async def test_kept_cut_connections_are_rolled_back_not_terminated(self, table: str) -> None:
        units = AsyncUnits(table, keep_cut_connections=True, pool_size=1)
        try:
            used = await cut_mid_statement(units)
            async with units.transaction() as unit:
                again = await unit.read(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
            assert again == used[0]  # the one connection was kept, rolled back
            assert notes(table) == []
        finally:
            await units.close()

    async def test_close_every_loop_and_not_final(self, table: str) -> None:
        units = AsyncUnits(table, pool_size=2)
        here = await units.pool()
        stop = threading.Event()
        ready = threading.Event()

        def other_loop() -> None:
            async def run() -> None:
                await units.pool()
                ready.set()
                await asyncio.to_thread(stop.wait, 30)  # this loop keeps running meanwhile

            asyncio.run(run())

        worker = threading.Thread(target=other_loop)
        worker.start()
        try:
            assert await asyncio.to_thread(ready.wait, 10)
            assert len(units.pools) == 2
            await units.close(every_loop=True, final=False)
            assert units.pools == {} and here.is_closing()
            await units.run(add_async("reopened"))  # not final: a new pool serves
            assert notes(table) == ["reopened"]
        finally:
            stop.set()
            await asyncio.to_thread(worker.join)
            await units.close()
