"""The legacy pool against a real PostgreSQL: bounded waits, reconnection, socket URLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from persistence.errors import DatabaseError
from persistence.legacy import PersistenceLayer
from persistence.models import Player
from tests.database import socket_url
from tests.integration.legacy.conftest import run_sql

pytestmark = pytest.mark.integration

TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = 'dualpath-legacy' AND datname = current_database()"
    " AND pid <> pg_backend_pid()"
)


def backends(url: str) -> int:
    """How many legacy connections the test database has."""
    rows = run_sql(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dualpath-legacy'"
        " AND datname = current_database()",
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def backends_after_close(url: str, within_s: float = 5.0) -> int:
    """``backends`` once the server has let the closed connections go, or after ``within_s``.

    A backend leaves ``pg_stat_activity`` when its process exits, shortly after the client
    closed it; on a busy machine that can take longer than the next query.
    """
    deadline = time.monotonic() + within_s
    while (count := backends(url)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


class TestBoundedPool:
    """A caller never waits forever for a connection."""

    def test_an_exhausted_pool_raises_after_its_timeout(self, world: str) -> None:
        layer = PersistenceLayer(world, pool_size=1, acquire_timeout=0.3)
        try:
            with layer.transaction(), ThreadPoolExecutor(1) as executor:
                started = time.monotonic()
                future = executor.submit(layer.list_rooms)
                with pytest.raises(DatabaseError, match="legacy pool exhausted"):
                    future.result(timeout=5)
                assert time.monotonic() - started < 2
            assert layer.list_rooms()
        finally:
            layer.close()

    def test_the_pool_opens_no_more_than_its_size(self, world: str) -> None:
        layer = PersistenceLayer(world, pool_size=3)
        try:
            with ThreadPoolExecutor(12) as executor:
                list(executor.map(lambda _: layer.get_all_professions(), range(200)))
            assert backends(world) <= 3
        finally:
            layer.close()
        assert backends_after_close(world) == 0

    def test_nothing_connects_before_the_first_call(self, world: str) -> None:
        layer = PersistenceLayer(world)
        assert backends(world) == 0
        layer.get_all_professions()
        assert backends(world) == 1
        layer.close()


class TestReconnection:
    """A call on a dead connection raises DatabaseError; the next call reconnects."""

    def test_terminated_backends_are_replaced(
        self, world: str, layer: PersistenceLayer, make_player: Callable[..., Player]
    ) -> None:
        player = make_player()
        self._warm(layer, 4)
        run_sql(world, TERMINATE)
        with pytest.raises(DatabaseError):
            layer.get_player(player.player_id)
        assert layer.get_player(player.player_id).name == player.name  # type: ignore[union-attr]

    def test_a_unit_of_work_on_a_dead_connection_fails_and_the_next_reconnects(
        self, world: str, layer: PersistenceLayer, make_player: Callable[..., Player]
    ) -> None:
        player = make_player()
        with pytest.raises(DatabaseError), layer.transaction():
            run_sql(world, TERMINATE)
            layer.damage_player(player, 1)
        assert layer.damage_player(player, 1) == 99

    def test_an_unreachable_server_raises_database_error(self) -> None:
        layer = PersistenceLayer("postgresql://postgres@127.0.0.1:1/none", acquire_timeout=1)
        with pytest.raises(DatabaseError, match="cannot connect"):
            layer.get_all_professions()

    @staticmethod
    def _warm(layer: PersistenceLayer, count: int) -> None:
        barrier = threading.Barrier(count)

        def hold() -> None:
            with layer.transaction():
                barrier.wait(timeout=5)

        with ThreadPoolExecutor(count) as executor:
            for future in [executor.submit(hold) for _ in range(count)]:
                future.result()


class TestUrlsAndClose:
    """Socket URLs work, and a closed layer refuses calls."""

    def test_a_socket_url_connects(self, world: str) -> None:
        layer = PersistenceLayer(socket_url(world))
        try:
            assert [p.name for p in layer.get_all_professions()] == ["Tramp", "Scholar"]
        finally:
            layer.close()

    def test_close_closes_the_connections_and_refuses_calls(self, world: str) -> None:
        layer = PersistenceLayer(world)
        layer.get_all_professions()
        layer.close()
        assert backends_after_close(world) == 0
        with pytest.raises(DatabaseError, match="closed"):
            layer.get_all_professions()
