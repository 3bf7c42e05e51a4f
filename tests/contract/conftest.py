"""Fixtures of the contract suite: a small seeded world per test and each path over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import psycopg2
import pytest

from persistence.seed import COLUMNS, GAME_TABLES, SeedSummary, seed_world
from tests.conftest import create_database, drop_database
from tests.contract.adapters import PathUnderTest, open_path
from tests.contract.stored import StoredState

PLAYERS = 20
SEED = 7
MISSING = UUID("00000000-0000-4000-8000-00000000dead")
INSERT_ORDER = tuple(COLUMNS)  # parents before children


@pytest.fixture(scope="session")
def seeded(database_url: str) -> Iterator[tuple[SeedSummary, dict[str, str]]]:
    """The 20-player world, seeded once, with a copy of every table kept aside in ``snap``."""
    summary = seed_world(database_url, players=PLAYERS, seed=SEED, replace=True)
    copies = ";".join(f"CREATE TABLE snap.{t} AS TABLE public.{t}" for t in GAME_TABLES)
    _execute(database_url, f"DROP SCHEMA IF EXISTS snap CASCADE; CREATE SCHEMA snap; {copies}")
    state = StoredState(database_url)
    yield summary, state.fingerprint()
    state.close()
    _execute(database_url, "DROP SCHEMA snap CASCADE")


@pytest.fixture
def world(database_url: str, seeded: tuple[SeedSummary, dict[str, str]]) -> SeedSummary:
    """The seeded world, restored from its copy if an earlier test changed it.

    Restoring server-side is several times faster than seeding again and leaves exactly the
    rows that ``seed_world`` wrote; a test that wrote nothing costs one fingerprint.
    """
    summary, fingerprint = seeded
    state = StoredState(database_url)
    try:
        if state.fingerprint() != fingerprint:
            fill = ";".join(f"INSERT INTO public.{t} TABLE snap.{t}" for t in INSERT_ORDER)
            state.execute(f"BEGIN; TRUNCATE {', '.join(GAME_TABLES)}; {fill}; COMMIT")
    finally:
        state.close()
    return summary


def _execute(database_url: str, sql: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def stored(database_url: str, world: SeedSummary) -> Iterator[StoredState]:
    """The seeded database, read and arranged independently of the paths."""
    state = StoredState(database_url)
    yield state
    state.close()


@pytest.fixture(params=["legacy", "async"])
async def path(
    request: pytest.FixtureRequest, database_url: str, world: SeedSummary
) -> AsyncIterator[PathUnderTest]:
    """Each path in turn, opened after seeding, with a recording EventBus of its own."""
    opened = await open_path(request.param, database_url)
    yield opened
    await opened.close()


@pytest.fixture
async def both(database_url: str, world: SeedSummary) -> AsyncIterator[dict[str, PathUnderTest]]:
    """Both paths over the same seeded database, for side-by-side reads."""
    legacy = await open_path("legacy", database_url)
    try:
        modern = await open_path("async", database_url)
    except BaseException:
        await legacy.close()
        raise
    yield {"legacy": legacy, "async": modern}
    await modern.close()
    await legacy.close()


@pytest.fixture(scope="session")
def second_database_url() -> Iterator[str]:
    """A second migrated database, so that each path can write to a world of its own."""
    from persistence.migrate import upgrade

    url = create_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)
