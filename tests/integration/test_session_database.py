"""The test session's PostgreSQL: the configured URL, else 127.0.0.1:5432, else an embedded one.

Real servers throughout: the session's own server stands for one that answers, a port nothing
listens on for one that does not, and the embedded server is really started and stopped.
"""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg2
import pytest

from tests.database import (
    ADMIN_URL_ENV,
    FALLBACK_ENV,
    DatabaseUnavailable,
    SessionServer,
    admin_url,
    database_url,
    resolve,
    socket_dir,
)

pytestmark = pytest.mark.integration


def closed_url() -> str:
    """A URL on a 127.0.0.1 port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def show(url: str, setting: str) -> str:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW {setting}")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    return str(row[0])


def assert_fresh_embedded(server: SessionServer) -> Path:
    """A server of its own in a new temporary directory that takes several databases."""
    assert server.source == "embedded"
    assert socket_dir(server.admin_url) not in (None, "/var/run/postgresql", "/tmp")
    data = Path(show(server.admin_url, "data_directory"))
    assert data.name == "pg" and data.parent.name.startswith("dpt")
    conn = psycopg2.connect(server.admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "second"')
    conn.close()
    assert show(database_url(server.admin_url, "second"), "server_version") == server.version
    return data


def assert_gone(server: SessionServer, data: Path) -> None:
    """After ``stop()`` nothing answers and the directory is removed."""
    assert not data.parent.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(server.admin_url, connect_timeout=5).close()


class TestConfigured:
    """DUALPATH_TEST_ADMIN_URL is used when it answers; otherwise stop, or fall back if told."""

    def test_an_answering_url_is_used_and_nothing_is_started(self) -> None:
        server = resolve({ADMIN_URL_ENV: admin_url()}, local_url=closed_url())
        assert (server.source, server.admin_url) == ("configured", admin_url())
        assert server.version == show(admin_url(), "server_version").split()[0]

    def test_a_silent_url_stops_the_session_with_what_to_do(self) -> None:
        url = closed_url()
        with pytest.raises(DatabaseUnavailable) as raised:
            resolve({ADMIN_URL_ENV: url}, local_url=admin_url())
        assert f"{ADMIN_URL_ENV}={url} does not answer" in str(raised.value)
        assert f"{FALLBACK_ENV}=1" in str(raised.value)

    def test_a_silent_url_with_the_fallback_starts_an_embedded_server(self) -> None:
        server = resolve({ADMIN_URL_ENV: closed_url(), FALLBACK_ENV: "1"}, local_url=admin_url())
        try:
            assert f"{FALLBACK_ENV}=1" in server.why
            assert "embedded (pgserver)" in server.describe()
            data = assert_fresh_embedded(server)
        finally:
            server.stop()
        assert_gone(server, data)


class TestUnconfigured:
    """Without a URL: the local server if it answers, else an embedded one."""

    def test_the_local_server_when_it_answers(self) -> None:
        server = resolve({}, local_url=admin_url())
        assert (server.source, server.admin_url) == ("local", admin_url())

    def test_an_embedded_server_when_it_does_not(self) -> None:
        local = closed_url()
        server = resolve({}, local_url=local)
        try:
            assert f"{local} does not answer" in server.why
            data = assert_fresh_embedded(server)
        finally:
            server.stop()
        assert_gone(server, data)
