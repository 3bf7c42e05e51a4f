"""A seeded world of its own for the routing tests, both real paths, and routers over them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import psycopg2
import pytest

from app.operations import DOMAINS, build_registry
from flags.model import Mode
from routing import PersistenceRouter
from tests.conftest import create_database, drop_database
from tests.integration.routing.scenario import World, load_world


class AllDomains:
    """A flag provider that gives every domain the same, changeable mode."""

    name = "all-domains"

    def __init__(self, mode: Mode = "legacy") -> None:
        self.mode: Mode = mode
        self.calls = 0

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        self.calls += 1
        return self.mode


@pytest.fixture(scope="package")
def world_url() -> Iterator[str]:
    """A migrated database with a small seeded world, for this package only."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_routing")
    try:
        upgrade(url)
        seed_world(url, players=40, seed=7)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="package")
def world(world_url: str) -> World:
    conn = psycopg2.connect(world_url)
    try:
        return load_world(conn)
    finally:
        conn.close()


@pytest.fixture(scope="package")
def legacy(world_url: str) -> Iterator[object]:
    from persistence.legacy import PersistenceLayer

    layer = PersistenceLayer(world_url, pool_size=4)
    yield layer
    layer.close()


@pytest.fixture
async def async_layer(world_url: str) -> AsyncIterator[object]:
    from persistence.async_layer import AsyncPersistenceLayer

    layer = AsyncPersistenceLayer(database_url=world_url, pool_size=4)
    await layer.start()
    yield layer
    await layer.close()


@pytest.fixture
def flags() -> AllDomains:
    return AllDomains()


@pytest.fixture
async def router(
    legacy: object, async_layer: object, flags: AllDomains
) -> AsyncIterator[PersistenceRouter]:
    router = PersistenceRouter(
        build_registry(), legacy=legacy, async_=async_layer, flags=flags, legacy_threads=4
    )
    assert router.registry.domains() == DOMAINS
    yield router
    await router.close()
