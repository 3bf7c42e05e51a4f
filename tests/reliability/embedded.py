"""An embedded PostgreSQL of a test's own, which the test can stop and start.

Never the machine's shared PostgreSQL for a restart: other tests use it at the same time.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path


class EmbeddedPostgres:
    """A pgserver instance in a short data directory that the test can stop and start."""

    def __init__(self) -> None:
        import pgserver

        self.data_dir = Path(f"/tmp/dpr{secrets.token_hex(3)}")
        self.server = pgserver.get_server(str(self.data_dir), cleanup_mode="delete")
        self.url = self.server.get_uri()

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self.server.system_user)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()

    def remove(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def url_with_password(self, password: str) -> str:
        """The server's URL with ``password`` in it; trust auth accepts any password."""
        if "postgres:@" not in self.url:
            raise ValueError(f"unexpected embedded URL {self.url}")
        return self.url.replace("postgres:@", f"postgres:{password}@", 1)
