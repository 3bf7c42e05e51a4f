"""Where the database comes from: DATABASE_URL, or the embedded server reused across starts."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from app.database import resolve_database_url
from app.settings import Settings

pytestmark = pytest.mark.integration

START_AND_MIGRATE = """
import sys
from pathlib import Path
from app.database import start_embedded
from persistence.migrate import upgrade, current
url = start_embedded(Path(sys.argv[1]))
upgrade(url)
print(url)
print(current(url))
"""


class TestDatabaseUrl:
    """``DATABASE_URL`` wins; anything but postgresql:// is refused."""

    def test_configured_url_is_used(self, database_url: str) -> None:
        assert resolve_database_url(Settings(DATABASE_URL=database_url)) == database_url

    def test_non_postgres_url_is_refused(self) -> None:
        with pytest.raises(ValueError, match="postgresql://"):
            Settings(DATABASE_URL="mysql://root@localhost/test")


class TestEmbedded:
    """Without ``DATABASE_URL`` an embedded PostgreSQL starts under the data dir and is reused."""

    def test_started_migrated_and_reused(self) -> None:
        with tempfile.TemporaryDirectory(prefix="dp", dir="/tmp") as tmp:
            data_dir = Path(tmp) / "pg"
            first = _run(data_dir)
            assert first[1] == _head()
            conn = psycopg2.connect(first[0])
            with conn, conn.cursor() as cur:
                cur.execute("INSERT INTO zones (zone_id, name) VALUES ('kept', 'Kept')")
            conn.close()
            second = _run(data_dir)
            conn = psycopg2.connect(second[0])
            with conn.cursor() as cur:
                cur.execute("SELECT name FROM zones WHERE zone_id = 'kept'")
                assert cur.fetchone() == ("Kept",)
            conn.close()
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import pgserver,sys; pgserver.get_server(sys.argv[1]).cleanup()",
                    str(data_dir),
                ],
                check=False,
                capture_output=True,
            )


def _head() -> str:
    from alembic.script import ScriptDirectory

    from persistence.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    assert head is not None
    return head


def _run(data_dir: Path) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", START_AND_MIGRATE, str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-2:]
