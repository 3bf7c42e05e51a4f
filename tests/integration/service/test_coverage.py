"""Coverage as ops see it: the domain's card, ``/api/readiness``, ``/metrics``, ``status``."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.integration.service.conftest import AUTH
from tests.integration.service.test_cli import run

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

READS = 6
COVERAGE = re.compile(r"compared (\d+)% of ([\d,]+) calls in the last hour")


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None if it is not exported."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else None


async def shadowed_reads(client: httpx.AsyncClient, system: Any, player_id: str) -> None:
    body = {"mode": "shadow", "reason": "coverage test"}
    assert (await client.put("/api/flags/player", json=body, headers=AUTH)).status_code == 200
    try:
        for _ in range(READS):
            await system.router.get_player_by_id(player_id)
        await system.shadow_runner.drain()
        await system.divergences.flush()
    finally:
        reset = {"mode": "legacy", "reason": "reset"}
        await client.put("/api/flags/player", json=reset, headers=AUTH)


class TestCoverage:
    """Calls served in shadow, and how many were compared, are shown wherever ops look."""

    async def test_card_readiness_and_metrics(
        self, client: httpx.AsyncClient, system: Any, player: dict[str, Any]
    ) -> None:
        metrics = (await client.get("/metrics")).text
        before = sample(
            metrics, "dualpath_shadow_calls_total", domain="player", operation="get_player_by_id"
        )
        assert before is not None  # exported from zero, before any call
        assert sample(
            metrics, "dualpath_shadow_skipped_total",
            domain="item", operation="get_item_instance", reason="restore_failed",
        ) == 0.0  # fmt: skip

        await shadowed_reads(client, system, player["player_id"])

        html = (await client.get("/dashboard")).text
        card = html.split('id="domain-player"')[1].split("</article>")[0]
        found = COVERAGE.search(card)
        assert found is not None, card
        served = int(found.group(2).replace(",", ""))
        assert served >= READS and 0 <= int(found.group(1)) <= 100
        metrics = (await client.get("/metrics")).text
        after = sample(
            metrics, "dualpath_shadow_calls_total", domain="player", operation="get_player_by_id"
        )
        assert after == before + READS
        [ready] = [
            r for r in (await client.get("/api/readiness")).json() if r["domain"] == "player"
        ]
        [read] = [o for o in ready["operations"] if o["operation"] == "get_player_by_id"]
        assert read["served"] >= READS and read["served"] == read["comparisons"] + sum(
            read["skipped"].values()
        ) + sum(read["health"].values())
        assert ready["coverage"] is not None and ready["served"] >= READS


class TestStatus:
    """``dualpath status --json`` gives each domain's coverage of the last 15 minutes."""

    async def test_json_has_coverage(
        self, client: httpx.AsyncClient, system: Any, player: dict[str, Any], service_database: str
    ) -> None:
        await shadowed_reads(client, system, player["player_id"])
        result = run(service_database, "status", "--json")
        assert result.returncode == 0, result.stderr
        [player_row] = [d for d in json.loads(result.stdout) if d["domain"] == "player"]
        coverage = player_row["last_15_minutes"]["coverage"]
        assert coverage["served"] >= READS and coverage["compared"] <= coverage["served"]
        assert coverage["text"].startswith("compared ")
        assert "in the last 15 minutes" in coverage["text"]
        table = run(service_database, "status")
        assert table.returncode == 0, table.stderr
        assert "not compared" in table.stdout and "shadow health" in table.stdout
