"""Shared fixtures: a fresh, migrated PostgreSQL database for the whole test session."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import psycopg2
import pytest

from tests import database
from tests.busy import burning_core
from tests.database import ADMIN_URL_ENV, DatabaseUnavailable, admin_url, resolve

_PREVIOUS_ADMIN_URL = pytest.StashKey[str | None]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Choose the session's PostgreSQL (see tests/database.py) before anything is collected.

    The chosen admin URL is exported as ``DUALPATH_TEST_ADMIN_URL`` so that any process the
    tests start finds the same server.
    """
    try:
        server = resolve(os.environ)
    except DatabaseUnavailable as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    database.choose(server)
    session.config.stash[_PREVIOUS_ADMIN_URL] = os.environ.get(ADMIN_URL_ENV)
    os.environ[ADMIN_URL_ENV] = server.admin_url


def pytest_report_header(config: pytest.Config) -> str:
    """Which PostgreSQL the session runs on, and why."""
    return database.chosen().describe()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded server if the session started one; restore the environment."""
    database.release()
    if _PREVIOUS_ADMIN_URL in config.stash:
        previous = config.stash[_PREVIOUS_ADMIN_URL]
        if previous is None:
            os.environ.pop(ADMIN_URL_ENV, None)
        else:
            os.environ[ADMIN_URL_ENV] = previous


def _admin_execute(sql: str) -> None:
    conn = psycopg2.connect(admin_url())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_database(prefix: str = "dualpath_test") -> str:
    """Create an empty database with a random name on the session's server; return its URL."""
    name = database.unique_name(prefix)
    _admin_execute(f'CREATE DATABASE "{name}"')
    return database.database_url(admin_url(), name)


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database``, closing its other sessions first."""
    _admin_execute(f'DROP DATABASE IF EXISTS "{database.database_name(url)}" WITH (FORCE)')


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


@pytest.fixture(scope="module", autouse=True)
def settled_heap() -> None:
    """Each module starts with what earlier modules left alive moved out of the collector's way.

    One process runs the whole suite, and its heap grows with every module; a full
    collection of that heap can pause every thread for a few hundred ms, long enough to land
    inside a test's timed section. Collecting here, then freezing what survived, keeps later
    collections to what the module itself allocates.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def busy_cpu(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a test marked ``busy_cpu``: another process keeps one core busy while it runs."""
    if request.node.get_closest_marker("busy_cpu") is None:
        yield
        return
    with burning_core():
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``slow`` unless ``DUALPATH_SLOW=1`` (CI and ``make test-all`` set it)."""
    if os.environ.get("DUALPATH_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set DUALPATH_SLOW=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
