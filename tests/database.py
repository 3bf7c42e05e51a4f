"""The PostgreSQL server a test session runs on, chosen once, before the first test.

In order: ``DUALPATH_TEST_ADMIN_URL`` if set; else a PostgreSQL on 127.0.0.1:5432 with trust
auth, if one answers; else an embedded PostgreSQL (pgserver, as ``make run`` uses) started in
a temporary directory and stopped at the end of the session. A configured URL that does not
answer stops the session, unless ``DUALPATH_TEST_EMBEDDED_FALLBACK=1`` says to fall back to
the embedded server (CI sets it to prove the embedded path).

Nothing here connects at import: ``resolve()`` runs in ``pytest_sessionstart``.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg2

ADMIN_URL_ENV = "DUALPATH_TEST_ADMIN_URL"
FALLBACK_ENV = "DUALPATH_TEST_EMBEDDED_FALLBACK"
LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(RuntimeError):
    """The configured test database does not answer and no fallback was asked for."""


@dataclass(frozen=True)
class SessionServer:
    """The chosen server: which rule chose it, its admin URL, and how to stop it."""

    source: str  # "configured", "local" or "embedded"
    admin_url: str
    why: str
    version: str
    stop: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def describe(self) -> str:
        """One line for the pytest header."""
        kind = "embedded (pgserver)" if self.source == "embedded" else self.source
        return f"database: {kind} PostgreSQL {self.version} at {self.admin_url}; {self.why}"


def resolve(env: Mapping[str, str], local_url: str = LOCAL_URL) -> SessionServer:
    """Choose the session's server by the rules in the module docstring."""
    configured = env.get(ADMIN_URL_ENV, "")
    if configured:
        version, failure = probe(configured)
        if version is not None:
            return SessionServer("configured", configured, f"{ADMIN_URL_ENV} is set", version)
        if env.get(FALLBACK_ENV) != "1":
            raise DatabaseUnavailable(
                f"{ADMIN_URL_ENV}={configured} does not answer ({failure}). Start that server, "
                f"unset {ADMIN_URL_ENV} to use 127.0.0.1:5432 or an embedded PostgreSQL, "
                f"or set {FALLBACK_ENV}=1 to fall back to an embedded one"
            )
        return start_embedded(f"{ADMIN_URL_ENV} does not answer ({failure}); {FALLBACK_ENV}=1")
    version, failure = probe(local_url)
    if version is not None:
        return SessionServer("local", local_url, f"{ADMIN_URL_ENV} unset; it answers", version)
    return start_embedded(f"{ADMIN_URL_ENV} unset; {local_url} does not answer ({failure})")


def start_embedded(why: str) -> SessionServer:
    """A pgserver instance in a fresh temporary directory; ``stop()`` stops and removes it."""
    with warnings.catch_warnings():
        # pgserver picks its lock directory at import; without XDG_RUNTIME_DIR it uses /tmp.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver

    parent = Path(tempfile.mkdtemp(prefix="dpt"))
    try:
        server = pgserver.get_server(str(parent / "pg"), cleanup_mode="delete")
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise

    def stop() -> None:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)

    url = server.get_uri()
    version, failure = probe(url)
    if version is None:
        stop()
        raise DatabaseUnavailable(f"the embedded PostgreSQL at {url} does not answer: {failure}")
    return SessionServer("embedded", url, why, version, stop)


def probe(url: str) -> tuple[str | None, str | None]:
    """``(version, None)`` when ``url`` takes a trust-auth connection, else ``(None, why)``."""
    try:
        conn = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg2.Error as exc:
        return None, " ".join(str(exc).split()) or type(exc).__name__
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            row = cur.fetchone()
    finally:
        conn.close()
    return (str(row[0]).split()[0] if row else "?"), None


# --- URLs of databases on the chosen server: TCP (host:port) or socket (?host=/dir) alike ---


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` with its database replaced by ``name``; the query (``host=``) is kept."""
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    """The database a URL names."""
    return urlsplit(url).path.lstrip("/")


def socket_dir(url: str) -> str | None:
    """The Unix socket directory of a ``?host=/dir`` URL (as pgserver gives), else None."""
    hosts = parse_qs(urlsplit(url).query).get("host")
    return hosts[0] if hosts and hosts[0].startswith("/") else None


def socket_url(url: str) -> str:
    """The same database over the server's Unix socket (the server says where it is)."""
    if socket_dir(url) is not None:
        return url
    conn = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW unix_socket_directories")
            row = cur.fetchone()
    finally:
        conn.close()
    directory = str(row[0] if row else "").split(",")[0].strip()
    if not directory.startswith("/"):
        raise RuntimeError(f"the server of {url} has no Unix socket: {directory!r}")
    user = urlsplit(url).username or "postgres"
    return f"postgresql://{user}:@/{database_name(url)}?host={directory}"


# --- the session's server, set once by the root conftest ---

_chosen: list[SessionServer] = []


def choose(server: SessionServer) -> None:
    """Make ``server`` the session's server."""
    _chosen[:] = [server]


def chosen() -> SessionServer:
    """The session's server; fails when none was chosen yet (outside a pytest session)."""
    if not _chosen:
        raise RuntimeError("no test database chosen yet: tests/conftest.py chooses it")
    return _chosen[0]


def release() -> None:
    """Stop the session's server if the session started it."""
    while _chosen:
        _chosen.pop().stop()


def admin_url() -> str:
    """The admin URL of the session's server."""
    return chosen().admin_url


def unique_name(prefix: str) -> str:
    """A database name that no other session on the same server uses."""
    return f"{prefix}_{secrets.token_hex(4)}"
