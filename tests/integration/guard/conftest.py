"""Fixtures of the guard's integration tests: domains of their own, flags with overrides."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from flags.overrides import OverriddenFlags
from flags.postgres import PostgresFlagStore
from tests.conftest import create_database, drop_database
from tests.integration.service.conftest import service_settings


@pytest.fixture
def domains() -> list[str]:
    """Two domain names no other test uses."""
    tag = secrets.token_hex(3)
    return [f"player_{tag}", f"room_{tag}"]


@pytest.fixture
async def flags(database_url: str, domains: list[str]) -> AsyncIterator[OverriddenFlags]:
    """The postgres flag store wrapped with overrides, started."""
    wrapped = OverriddenFlags(
        PostgresFlagStore(database_url, domains, reload_interval=60), database_url, domains
    )
    await wrapped.start()
    yield wrapped
    await wrapped.close()


async def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check()`` held; fails the test after ``within`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


@pytest.fixture(scope="package")
def guard_database() -> Iterator[str]:
    """A migrated database with a small seeded world, for the service-level guard tests."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_guard")
    try:
        upgrade(url)
        seed_world(url, players=20, seed=3)
        yield url
    finally:
        drop_database(url)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def system(guard_database: str) -> AsyncIterator[Any]:
    """The whole system with the postgres flag store, overrides and the guard."""
    from app.bootstrap import open_system

    async with open_system(service_settings(guard_database)) as opened:
        yield opened


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def client(system: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process."""
    from app.service import create_app

    app = create_app(system)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http
