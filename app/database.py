"""Where the database is: ``DATABASE_URL``, or an embedded PostgreSQL under the project."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import structlog

from app.settings import Settings

log = structlog.get_logger()

_embedded: dict[Path, Any] = {}


def resolve_database_url(settings: Settings, *, stop_at_exit: bool = False) -> str:
    """Return the configured URL, starting the embedded server when none is set.

    With ``stop_at_exit`` the embedded server is stopped when this process exits, unless
    another process still uses it (``dualpath run``); its data stays for the next start.
    """
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir / "pg", stop_at_exit=stop_at_exit)


def start_embedded(data_dir: Path, *, stop_at_exit: bool = False) -> str:
    """Start (or reuse) the pgserver instance in ``data_dir`` and return its URL."""
    data_dir = data_dir.resolve()
    if data_dir not in _embedded:
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        if len(str(data_dir)) > 80:
            raise RuntimeError(
                f"embedded PostgreSQL data dir {data_dir} is too long for a Unix socket path; "
                "set DUALPATH_DATA_DIR to a shorter path or set DATABASE_URL"
            )
        mode = "stop" if stop_at_exit else None
        _embedded[data_dir] = pgserver.get_server(str(data_dir), cleanup_mode=mode)
        log.info("database.embedded", data_dir=str(data_dir), pid=os.getpid())
    uri: str = _embedded[data_dir].get_uri()
    return uri


def stop_embedded(data_dir: Path) -> int | None:
    """Stop the embedded server of ``data_dir`` (one left by a crash, say); its pid, or None
    when none runs there. The data stays: the next start reuses it."""
    data_dir = data_dir.resolve()
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.is_file():
        return None
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pid_file.unlink()  # stale: the server is gone already
        return None
    from pgserver import _commands

    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)  # type: ignore[attr-defined]
    (data_dir / ".handle_pids.json").unlink(missing_ok=True)  # no process holds it now
    log.info("database.embedded_stopped", data_dir=str(data_dir), pid=pid)
    return pid
