"""Where the database is: ``DATABASE_URL``, or an embedded PostgreSQL under the project."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import structlog

from app.settings import Settings

log = structlog.get_logger()

_embedded: dict[Path, Any] = {}


def resolve_database_url(settings: Settings) -> str:
    """Return the configured URL, starting the embedded server when none is set."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir / "pg")


def start_embedded(data_dir: Path) -> str:
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
        _embedded[data_dir] = pgserver.get_server(str(data_dir), cleanup_mode=None)
        log.info("database.embedded", data_dir=str(data_dir), pid=os.getpid())
    uri: str = _embedded[data_dir].get_uri()
    return uri
