"""Readiness with a stated confidence, end to end on PostgreSQL (docs/rollout.md, Readiness).

Real calls go through the router in ``shadow``: the shadow runner runs both paths, the shadow
engine counts each comparison in the per-minute rollup, the store writes it to PostgreSQL,
and readiness reads it back per operation. The service here runs with a soak of 0 minutes and
a target of 5% (59 comparisons per operation at 95%), so a test needs tens of calls, not
thousands; the arithmetic is the default's (docs/rollout.md).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from persistence.errors import NotFoundError
from tests.integration.service.conftest import AUTH, TOKEN

pytestmark = pytest.mark.integration
on_the_package_loop = pytest.mark.asyncio(loop_scope="package")

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = "item"
READ, WRITE, REFUSED = "get_item_instance", "ensure_item_instance", "delete_item_instance"
TARGET = 0.05
NEEDED = 59  # ln(0.05) / ln(0.95) = 58.4
Z95 = 1.6448536269514722


def wilson_bounds(events: int, n: int, z: float = Z95) -> tuple[float, float]:
    """One-sided Wilson bounds, from the textbook formula."""
    p = events / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return ((centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n))


def evidence_settings(url: str) -> Any:
    from app.settings import Settings

    return Settings(
        DATABASE_URL=url,
        flag_provider="postgres",
        ops_token=TOKEN,
        ops_token_name="ops",
        readiness_min_minutes=0,
        readiness_target_rate=TARGET,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def evidence_system(guard_database: str) -> AsyncIterator[Any]:
    """A second system on the guard database, with a short soak and a 5% target."""
    from app.bootstrap import open_system

    async with open_system(evidence_settings(guard_database)) as opened:
        yield opened


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def evidence_client(evidence_system: Any) -> AsyncIterator[httpx.AsyncClient]:
    from app.service import create_app

    app = create_app(evidence_system)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http


def an_item(database_url: str) -> tuple[str, str]:
    """A seeded item instance: its id and its prototype."""
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT item_instance_id, prototype_id FROM item_instances LIMIT 1")
        item_id, prototype = cur.fetchone()
    conn.close()
    return str(item_id), str(prototype)


async def calls(system: Any, read: int, write: int, refused: int = 0) -> None:
    """Real shadowed calls of the item domain, counted in PostgreSQL.

    The reads look up an item that does not exist; the writes ensure one that does, the same
    write each time, so both paths answer alike and neither raises; the refused writes
    delete an item that does not exist, which both paths refuse with ``NotFoundError``.
    Each call's shadow is waited for, so every call is compared: the next primary write of
    the same item would preempt a write's shadow (a counted skip), and a read's could be
    skipped under load.
    """
    missing = str(uuid.uuid4())
    item_id, prototype = an_item(system.database_url)
    for _ in range(read):
        assert await system.router.get_item_instance(missing) is None
        await system.shadow_runner.drain()
    for _ in range(write):
        await system.router.ensure_item_instance(item_id, prototype)
        await system.shadow_runner.drain()
    for _ in range(refused):
        with pytest.raises(NotFoundError):
            await system.router.delete_item_instance(missing)
        await system.shadow_runner.drain()
    await system.divergences.flush()
    assert not system.shadow_runner.skipped, system.shadow_runner.skipped


def diverge_item(system: Any) -> None:
    """One shadowed ensure whose paths disagree on the rows left behind."""
    from shadow.observation import Observation

    operation = system.router.registry.get(WRITE)
    primary = Observation("legacy", None, None, 0.001, effects={"rows": 0})
    shadow = Observation("async", None, None, 0.001, effects={"rows": 1})
    system.shadow.engine.observe(
        operation, primary, shadow, mode="shadow", inputs={"item_instance_id": "x"}
    )


async def item_readiness(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/readiness", headers=AUTH)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = {r["domain"]: r for r in response.json()}[DOMAIN]
    return found


def by_operation(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The divergence-rate evidence of each operation of a readiness answer."""
    return {
        e["extra"]["operation"]: e
        for e in found["evidence"]
        if e["rule"] == "divergence_rate" and "operation" in e.get("extra", {})
    }


def card(html: str, domain: str) -> str:
    return html.split(f'id="domain-{domain}"')[1].split("</article>")[0]


@on_the_package_loop
class TestReadinessOverHttp:
    """GET /api/readiness and the dashboard card: every operation's evidence, with figures."""

    async def test_from_inconclusive_to_ready_to_blocked(
        self, evidence_system: Any, evidence_client: httpx.AsyncClient
    ) -> None:
        system = evidence_system
        await system.flags.set(DOMAIN, "shadow", reason="readiness test", actor="test")
        try:
            await calls(system, read=NEEDED + 6, write=20, refused=NEEDED)
            found = await item_readiness(evidence_client)
            assert (found["mode"], found["outcome"], found["ready"]) == (
                "shadow", "inconclusive", False,
            )  # fmt: skip
            more = NEEDED - 20
            assert found["verdict"] == (
                f"inconclusive: needs {more} more comparisons ({WRITE}: 20 of {NEEDED} comparisons)"
            )
            assert READ not in found["verdict"]
            by_op = by_operation(found)
            write = by_op[WRITE]
            assert (write["rule"], write["outcome"], write["n"], write["needed"]) == (
                "divergence_rate", "inconclusive", {"comparisons": 20}, more,
            )  # fmt: skip
            assert (write["estimate"], write["threshold"]) == (0.0, TARGET)
            assert write["ci"] == [0.0, pytest.approx(1 - 0.05 ** (1 / 20))]
            assert by_op[READ]["outcome"] == "pass"
            assert by_op[READ]["n"] == {"comparisons": NEEDED + 6}
            # Both paths refused every delete: an agreeing answer, not a path's error.
            assert by_op[REFUSED]["outcome"] == "pass"
            assert by_op[REFUSED]["n"] == {"comparisons": NEEDED}
            errors = next(e for e in found["evidence"] if e["rule"] == "async_error_rate")
            assert (errors["outcome"], errors["n"], errors["estimate"]) == (
                "pass", {"calls": 2 * NEEDED + 26}, 0.0,
            )  # fmt: skip
            assert found["error_rates"] == {"legacy": 0.0, "async": 0.0}

            html = (await evidence_client.get("/dashboard")).text
            shown = card(html, DOMAIN)
            assert 'data-outcome="inconclusive"' in shown
            assert f"{WRITE}: 20 of {NEEDED} comparisons" in shown
            assert f'data-operation="{WRITE}" data-outcome="inconclusive"' in shown

            await calls(system, read=0, write=more)
            found = await item_readiness(evidence_client)
            assert (found["verdict"], found["outcome"], found["ready"]) == (
                "ready for live", "pass", True,
            )  # fmt: skip
            assert {o["operation"]: o["comparisons"] for o in found["operations"]} == {
                READ: NEEDED + 6, WRITE: NEEDED, REFUSED: NEEDED,
            }  # fmt: skip

            diverge_item(system)
            await system.divergences.flush()
            found = await item_readiness(evidence_client)
            low, high = wilson_bounds(1, NEEDED + 1)
            assert low < TARGET < high
            assert (found["outcome"], found["ready"]) == ("fail", False)
            [group] = await system.divergences.groups(domain=DOMAIN, status="open")
            named = f"1 open divergence group ({WRITE} {group.signature})"
            assert found["verdict"].startswith(f"blocked: {named}; needs ")
            assert (
                f"({WRITE}: 1 divergence in {NEEDED + 1} of "
                f"{found['needed_comparisons'] + NEEDED + 1} comparisons "
                f"(95% upper bound {100 * high:.1f}% > 5.0%))" in found["verdict"]
            )
            rate = by_operation(found)[WRITE]
            assert rate["ci"] == [pytest.approx(low), pytest.approx(high)]
            assert rate["estimate"] == pytest.approx(1 / (NEEDED + 1))
        finally:
            await system.flags.set(DOMAIN, "legacy", reason="readiness test done", actor="test")
            for group in await system.divergences.groups(domain=DOMAIN, status="open"):
                await system.divergences.mark_fixed(group.signature, actor="test", reason="done")


def status(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``dualpath status *args`` in a child process over the guard database."""
    full = {**os.environ, "DATABASE_URL": database_url, "DUALPATH_FLAG_PROVIDER": "postgres"}
    full |= {"COLUMNS": "220", "DUALPATH_READINESS_MIN_MINUTES": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "status", *args],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@on_the_package_loop
class TestStatusCommand:
    """``dualpath status``: the verdict, the evidence table, --json, a configurable target."""

    async def test_status_shows_the_evidence_and_follows_the_target(
        self, evidence_system: Any, guard_database: str
    ) -> None:
        system = evidence_system
        domain = "room"
        await system.flags.set(domain, "shadow", reason="status test", actor="test")
        try:
            rooms = await system.async_layer.list_rooms()
            for index in range(70):
                await system.router.get_room_by_id(rooms[index % len(rooms)].room_id)
                await system.shadow_runner.drain()
            await system.divergences.flush()

            loose = status(guard_database, "--json", DUALPATH_READINESS_TARGET_RATE="0.05")
            assert loose.returncode == 0, loose.stderr
            room = {d["domain"]: d for d in json.loads(loose.stdout)}[domain]["readiness"]
            assert (room["verdict"], room["outcome"]) == ("ready for live", "pass")
            assert room["target_rate"] == 0.05

            strict = status(guard_database, "--json", DUALPATH_READINESS_TARGET_RATE="0.01")
            assert strict.returncode == 0, strict.stderr
            room = {d["domain"]: d for d in json.loads(strict.stdout)}[domain]["readiness"]
            needed = math.ceil(math.log(0.05) / math.log(0.99))
            assert needed == 299
            assert room["verdict"] == (
                f"inconclusive: needs {needed - 70} more comparisons "
                f"(get_room_by_id: 70 of {needed} comparisons)"
            )
            rule = room["evidence"][-1]
            assert (rule["rule"], rule["n"], rule["threshold"], rule["needed"]) == (
                "divergence_rate", {"comparisons": 70}, 0.01, needed - 70,
            )  # fmt: skip

            table = status(guard_database, DUALPATH_READINESS_TARGET_RATE="0.01")
            assert table.returncode == 0, table.stderr
            assert "readiness evidence" in table.stdout
            row_name = "divergence_rate [get_room_by_id]"
            lines = [r for r in table.stdout.splitlines() if row_name in r]
            assert len(lines) == 1, table.stdout
            line = lines[0]
            for cell in ("inconclusive", "70 comparisons", "90% [0%, 4.2%]", "<= 1.0%", "229 more"):
                assert cell in line, (cell, line)
        finally:
            await system.flags.set(domain, "legacy", reason="status test done", actor="test")


class TestBadSettings:
    """A target or confidence out of range stops the command with a clear error."""

    def test_a_bad_target_is_refused(self, guard_database: str) -> None:
        for bad in ("0", "1", "2", "lots"):
            result = status(guard_database, DUALPATH_READINESS_TARGET_RATE=bad)
            assert result.returncode == 2 and "readiness_target_rate" in result.stderr, bad
        result = status(guard_database, DUALPATH_READINESS_CONFIDENCE="0.4")
        assert result.returncode == 2 and "readiness_confidence" in result.stderr
