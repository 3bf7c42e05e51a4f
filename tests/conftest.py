"""Shared fixtures: a fresh, migrated PostgreSQL database for the whole test session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg2
import pytest

ADMIN_URL = os.environ.get(
    "DUALPATH_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin_execute(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_database(prefix: str = "dualpath_test") -> str:
    """Create an empty database with a random name and return its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database``, closing its other sessions first."""
    name = url.rsplit("/", 1)[1]
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database of its own for this test session, dropped at the end."""
    from persistence.migrate import upgrade

    url = create_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``slow`` unless ``DUALPATH_SLOW=1`` (CI and ``make test-all`` set it)."""
    if os.environ.get("DUALPATH_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set DUALPATH_SLOW=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
