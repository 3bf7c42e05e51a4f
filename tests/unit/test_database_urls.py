"""Database URLs on the session's server: TCP and Unix-socket URLs are read and made alike."""

from __future__ import annotations

import pytest

from tests.database import database_name, database_url, socket_dir

TCP = "postgresql://postgres@127.0.0.1:5432/postgres"
SOCKET = "postgresql://postgres:@/postgres?host=/tmp/dptab12/pg"


class TestUrls:
    """A database of its own keeps the server's address; only the database name changes."""

    @pytest.mark.parametrize(
        ("admin", "made"),
        [
            (TCP, "postgresql://postgres@127.0.0.1:5432/dualpath_x"),
            (SOCKET, "postgresql://postgres:@/dualpath_x?host=/tmp/dptab12/pg"),
        ],
    )
    def test_database_url_and_name(self, admin: str, made: str) -> None:
        assert database_url(admin, "dualpath_x") == made
        assert database_name(made) == "dualpath_x"

    def test_socket_dir(self) -> None:
        assert socket_dir(SOCKET) == "/tmp/dptab12/pg"
        assert socket_dir(TCP) is None
        assert socket_dir("postgresql://postgres@/db?host=db.example") is None
