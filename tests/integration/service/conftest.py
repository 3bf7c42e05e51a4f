"""A real service over a real system on a fresh, seeded database, driven with httpx.

The database, the system and the app are opened once for the package (their event loop is
package-scoped); tests that change flags put them back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import create_database, drop_database

TOKEN = "ops-secret-for-tests"
ALICE_TOKEN = "alice-secret-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ALICE = {"Authorization": f"Bearer {ALICE_TOKEN}"}
WRONG = {"Authorization": "Bearer not-the-token"}
# In the service's DATABASE_URL; the test server's trust auth accepts any password.
DB_PASSWORD = "db-secret-for-tests"


@pytest.fixture(scope="package")
def service_database() -> Iterator[str]:
    """A migrated database with a small seeded world."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_service")
    try:
        upgrade(url)
        seed_world(url, players=30, seed=7)
        yield url
    finally:
        drop_database(url)


def service_settings(url: str) -> Any:
    """Settings for the service under test: the postgres flag store and two ops tokens."""
    from app.settings import Settings

    return Settings(
        DATABASE_URL=with_password(url),
        flag_provider="postgres",
        ops_token=TOKEN,
        ops_token_name="ops",
        ops_tokens=f"alice:{ALICE_TOKEN}",
    )


def with_password(url: str) -> str:
    """``url`` with ``DB_PASSWORD`` in it."""
    scheme, rest = url.split("://", 1)
    user, at, host = rest.partition("@")
    assert at, url
    return f"{scheme}://{user.split(':')[0]}:{DB_PASSWORD}@{host}"


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def system(service_database: str) -> AsyncIterator[Any]:
    """The whole system, opened by the composition root."""
    from app.bootstrap import open_system

    async with open_system(service_settings(service_database)) as opened:
        yield opened


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def client(system: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process, with its lifespan running."""
    from app.service import create_app

    app = create_app(system)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http


@pytest_asyncio.fixture(loop_scope="package")
async def player(client: httpx.AsyncClient) -> dict[str, Any]:
    """A player of the seeded world, as the API returns it."""
    response = await client.get("/api/players", params={"limit": 1, "offset": 3})
    assert response.status_code == 200
    found: dict[str, Any] = response.json()[0]
    return found


RENDER_TIMES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the dashboard's measured render times at the end of the run."""
    if RENDER_TIMES:
        terminalreporter.section("dashboard render times")
        for line in RENDER_TIMES:
            terminalreporter.write_line(line)
