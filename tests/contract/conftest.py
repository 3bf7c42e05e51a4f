"""Fixtures of the contract suite: a small seeded world per test and each path over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import pytest

from persistence.seed import SeedSummary, clear_world
from tests.conftest import create_database, drop_database
from tests.contract.adapters import PathUnderTest, open_path
from tests.contract.stored import SeededWorld, StoredState

PLAYERS = 20
SEED = 7
MISSING = UUID("00000000-0000-4000-8000-00000000dead")


@pytest.fixture(scope="package")
def seeded(database_url: str) -> Iterator[SeededWorld]:
    """The 20-player world, seeded once; the game tables are left empty after the suite."""
    world = SeededWorld(database_url, players=PLAYERS, seed=SEED)
    yield world
    world.drop()
    clear_world(database_url)


@pytest.fixture
def world(seeded: SeededWorld) -> SeedSummary:
    """The seeded world, as it was seeded, for this test."""
    seeded.restore()
    return seeded.summary


@pytest.fixture
def stored(seeded: SeededWorld, world: SeedSummary) -> StoredState:
    """The seeded database, read and arranged independently of the paths."""
    return seeded.state


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


@pytest.fixture(scope="package")
def second_world() -> Iterator[SeededWorld]:
    """The same world in a second database, so that each path can write to a world of its own."""
    from persistence.migrate import upgrade

    url = create_database()
    try:
        upgrade(url)
        world = SeededWorld(url, players=PLAYERS, seed=SEED)
        yield world
        world.drop()
    finally:
        drop_database(url)
