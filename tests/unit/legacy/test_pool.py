"""The legacy connection pool, driven by fake connections: bounds, waiting and reconnection."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from persistence.errors import DatabaseError
from persistence.legacy.pool import ConnectionPool

pytestmark = pytest.mark.unit


class FakeConnection:
    """Just enough of a connection for the pool: it can be closed or lost."""

    def __init__(self) -> None:
        self.closed = 0

    def cursor(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.closed = 1


class FakeServer:
    """A connector that counts the connections it opened and can refuse new ones."""

    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.down = False

    def __call__(self, dsn: str) -> FakeConnection:
        if self.down:
            raise psycopg2.OperationalError("connection refused")
        conn = FakeConnection()
        self.opened.append(conn)
        return conn


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


def make_pool(server: FakeServer, size: int = 2, timeout: float = 0.2) -> ConnectionPool:
    return ConnectionPool("dsn", size=size, acquire_timeout=timeout, connector=server)


class TestCheckout:
    """Connections open lazily, are reused, and never exceed the pool's size."""

    def test_nothing_connects_until_the_first_checkout(self, server: FakeServer) -> None:
        make_pool(server)
        assert server.opened == []

    def test_a_returned_connection_is_reused(self, server: FakeServer) -> None:
        pool = make_pool(server)
        with pool.connection() as first:
            pass
        with pool.connection() as second:
            pass
        assert first is second and len(server.opened) == 1

    def test_busy_connections_make_new_ones_up_to_the_size(self, server: FakeServer) -> None:
        pool = make_pool(server, size=2)
        a, b = pool.acquire(), pool.acquire()
        assert a is not b
        assert pool.stats() == {"idle": 0, "in_use": 2, "size": 2}

    def test_a_size_below_one_is_refused(self, server: FakeServer) -> None:
        with pytest.raises(ValueError):
            ConnectionPool("dsn", size=0, connector=server)


class TestExhaustion:
    """A caller waits a bounded time for a connection, then gets DatabaseError."""

    def test_a_full_pool_raises_after_the_timeout(self, server: FakeServer) -> None:
        pool = make_pool(server, size=1, timeout=0.2)
        pool.acquire()
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="legacy pool exhausted"):
            pool.acquire()
        assert 0.2 <= time.monotonic() - started < 1.0

    def test_a_waiter_gets_the_connection_returned_meanwhile(self, server: FakeServer) -> None:
        pool = make_pool(server, size=1, timeout=2.0)
        held = pool.acquire()
        threading.Timer(0.1, pool.release, args=(held,)).start()
        assert pool.acquire() is held

    def test_a_failed_connect_frees_its_slot(self, server: FakeServer) -> None:
        pool = make_pool(server, size=1)
        server.down = True
        with pytest.raises(DatabaseError, match="cannot connect"):
            pool.acquire()
        server.down = False
        assert pool.acquire() is server.opened[0]


class TestBrokenConnections:
    """A lost connection is discarded on return, with every idle one opened before it."""

    def test_a_lost_connection_is_replaced(self, server: FakeServer) -> None:
        pool = make_pool(server)
        with pool.connection() as conn:
            conn.closed = 2
        with pool.connection() as fresh:
            assert fresh is not conn
        assert len(server.opened) == 2

    def test_older_idle_connections_are_purged_with_it(self, server: FakeServer) -> None:
        pool = make_pool(server, size=3)
        a, b, c = pool.acquire(), pool.acquire(), pool.acquire()
        pool.release(a)
        b.closed = 2
        pool.release(b)
        pool.release(c)
        assert a.closed and c.closed
        assert pool.stats()["idle"] == 0

    def test_an_idle_connection_found_closed_is_skipped(self, server: FakeServer) -> None:
        pool = make_pool(server)
        with pool.connection() as conn:
            pass
        conn.closed = 2
        with pool.connection() as fresh:
            assert fresh is not conn


class TestClose:
    """Closing the pool closes idle connections now and busy ones on return."""

    def test_close_closes_everything_and_refuses_checkouts(self, server: FakeServer) -> None:
        pool = make_pool(server)
        busy = pool.acquire()
        with pool.connection():
            pass
        pool.close()
        assert server.opened[1].closed and not busy.closed
        pool.release(busy)
        assert busy.closed
        with pytest.raises(DatabaseError, match="closed"):
            pool.acquire()


class TestOutageLog:
    """A server restart is one outage for the pool: two events, whatever it cost."""

    def test_a_restart_is_two_events(self, server: FakeServer) -> None:
        from structlog.testing import capture_logs

        pool = ConnectionPool(
            "dsn", size=3, acquire_timeout=0.05, connector=server, outage_settle_s=0.0
        )
        conns = [pool.acquire() for _ in range(3)]
        with capture_logs() as logs:
            server.down = True
            for conn in conns:  # all three died with the server
                conn.closed = 2
                pool.release(conn)
            for _ in range(5):
                with pytest.raises(DatabaseError):
                    pool.acquire()
            server.down = False
            with pool.connection():
                pass
        assert [e["event"] for e in logs] == [
            "legacy.database_unavailable",
            "legacy.database_recovered",
        ]
        assert logs[1]["failed_calls"] == 6  # the first lost connection and five connects
        assert logs[1]["errors"] == {"connection lost": 1, "DatabaseError": 5}

    def test_connect_error_is_masked(self) -> None:
        def refuse(dsn: str) -> FakeConnection:
            raise psycopg2.OperationalError(f"could not connect with {dsn}")

        pool = ConnectionPool("postgresql://u:pool-secret@h/d", size=1, connector=refuse)
        with pytest.raises(DatabaseError) as caught:
            pool.acquire()
        assert "pool-secret" not in str(caught.value) and "u:***@h/d" in str(caught.value)
