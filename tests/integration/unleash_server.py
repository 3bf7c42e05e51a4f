"""A real Unleash server (npm ``unleash-server``, pinned in tests/node) for integration tests.

``UnleashServer`` runs it as a Node child process on a free port against a PostgreSQL
database of its own. It can be stopped and started again mid-test (the port, database and
tokens stay the same), which is how reliability tests take Unleash away from a running
provider.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.conftest import create_database, drop_database
from tests.database import database_name, socket_dir
from tests.node.packages import NODE_DIR, node_package

START_SCRIPT = NODE_DIR / "start-unleash.js"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class UnleashServer:
    """One Unleash server process; ``start()``/``stop()`` may be called repeatedly."""

    database_url: str
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: f"*:*.{secrets.token_hex(16)}")
    client_token: str = field(
        default_factory=lambda: f"default:development.{secrets.token_hex(16)}"
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:4242``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The URL SDKs are given: ``<url>/api``."""
        return f"{self.url}/api"

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until ``/health`` answers."""
        node_package("unleash-server")
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                ["node", str(START_SCRIPT)], cwd=NODE_DIR, env=self._env()
            )
        self._wait_healthy(timeout)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill the server at once, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def healthy(self) -> bool:
        """True when ``/health`` answers 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"unleash-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"unleash-server not healthy after {timeout} s")
            time.sleep(0.2)

    def _env(self) -> dict[str, str]:
        db = urlsplit(self.database_url)
        return {
            **os.environ,
            "SEND_TELEMETRY": "false",
            # A directory is a Unix socket's to node-postgres, as to libpq (embedded servers).
            "UNLEASH_DB_HOST": socket_dir(self.database_url) or db.hostname or "127.0.0.1",
            "UNLEASH_DB_PORT": str(db.port or 5432),
            "UNLEASH_DB_USER": db.username or "postgres",
            "UNLEASH_DB_PASSWORD": db.password or "",
            "UNLEASH_DB_NAME": database_name(self.database_url),
            "UNLEASH_PORT": str(self.port),
            "UNLEASH_ADMIN_TOKEN": self.admin_token,
            "UNLEASH_CLIENT_TOKEN": self.client_token,
        }


@contextlib.contextmanager
def running_unleash() -> Iterator[UnleashServer]:
    """A started Unleash server on a fresh database; stopped and dropped on exit."""
    node_package("unleash-server")
    database_url = create_database("dualpath_unleash")
    server = UnleashServer(database_url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        drop_database(database_url)
