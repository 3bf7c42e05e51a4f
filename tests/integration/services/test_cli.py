"""``dualpath services [--json]``: the same map as ``GET /api/services``, from the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from routing.services import calling_service
from tests.integration.services.conftest import SERVICES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def dualpath(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``dualpath *args`` in a child process over the services test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DUALPATH_FLAG_PROVIDER": "postgres",
        "DUALPATH_SERVICES": ",".join(SERVICES),
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestServicesCommand:
    """The JSON is the API's map; the table names every row; bad input is refused."""

    @pytest.mark.asyncio(loop_scope="package")
    async def test_json_matches_the_api(
        self, system: Any, client: httpx.AsyncClient, services_database: str
    ) -> None:
        with calling_service("health_service"):
            await system.router.get_professions()
        await system.attribution.flush()
        api = (await client.get("/api/services")).json()
        done = dualpath(services_database, "services", "--json")
        assert done.returncode == 0, done.stderr
        cli = json.loads(done.stdout)

        def shape(found: dict[str, Any]) -> dict[str, Any]:
            return {
                row["service"]: {d: (c["mode"], c["calls"]) for d, c in row["cells"].items()}
                for row in found["services"]
            }

        assert shape(cli) == shape(api)
        assert cli["services"][2]["cells"]["profession"]["calls"] >= 1

    def test_table_and_readiness(self, services_database: str) -> None:
        table = dualpath(services_database, "services")
        assert table.returncode == 0, table.stderr
        for name in (*SERVICES, "unattributed"):
            assert name in table.stdout
        ready = dualpath(services_database, "services", "--service", "combat_service")
        assert ready.returncode == 0, ready.stderr
        assert "service_divergence_rate" in ready.stdout and "n comparisons" in ready.stdout

    def test_unknown_service_is_refused(self, services_database: str) -> None:
        done = dualpath(services_database, "services", "--service", "nobody_at_all")
        assert done.returncode == 2 and "no service 'nobody_at_all'" in done.stderr

    def test_help_has_an_example(self, services_database: str) -> None:
        done = dualpath(services_database, "services", "--help")
        assert done.returncode == 0 and "Example: dualpath services --json" in done.stdout
