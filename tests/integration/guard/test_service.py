"""The guard's parts in the service: readiness, overrides in GET /api/flags, jumps refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.service.conftest import AUTH

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


async def put_flag(client: httpx.AsyncClient, domain: str, **body: Any) -> httpx.Response:
    body.setdefault("reason", "guard service test")
    return await client.put(f"/api/flags/{domain}", json=body, headers=AUTH)


class TestTransitionsOverHttp:
    """A jump is 409 unless forced, and a forced jump is audited as forced."""

    async def test_jump_needs_force(self, client: httpx.AsyncClient) -> None:
        refused = await put_flag(client, "profession", mode="live")
        assert refused.status_code == 409 and "skips a step" in refused.json()["detail"]
        assert (await client.get("/api/flags/profession")).json()["mode"] == "legacy"
        forced = await put_flag(client, "profession", mode="live", force=True)
        try:
            assert forced.status_code == 200, forced.text
            latest = (
                await client.get("/api/flags/history", params={"domain": "profession"})
            ).json()[0]
            assert (latest["mode"], latest["forced"]) == ("live", True)
        finally:
            await put_flag(client, "profession", mode="legacy")


class TestOverrideShown:
    """GET /api/flags shows an override where ops look, and the next set clears it."""

    async def test_override_in_the_flag_and_cleared_by_set(
        self, client: httpx.AsyncClient, system: Any
    ) -> None:
        await put_flag(client, "container", mode="shadow")
        try:
            await system.flags.override(
                "container", "legacy", reason="guard: test", actor="guard", extra={"n": 3}
            )
            shown = (await client.get("/api/flags/container")).json()
            assert shown["mode"] == "shadow"
            assert shown["override"]["mode"] == "legacy"
            assert shown["override"]["actor"] == "guard"
            listed = {f["domain"]: f for f in (await client.get("/api/flags")).json()}
            assert listed["container"]["override"]["reason"] == "guard: test"
            html = (await client.get("/dashboard")).text
            assert "held at legacy by guard" in html
            assert (await put_flag(client, "container", mode="shadow")).status_code == 200
            assert (await client.get("/api/flags/container")).json()["override"] is None
        finally:
            await put_flag(client, "container", mode="legacy")


class TestReadiness:
    """GET /api/readiness gives every domain a verdict; open groups block it."""

    async def test_every_domain_has_a_verdict(self, client: httpx.AsyncClient) -> None:
        found = (await client.get("/api/readiness")).json()
        by_domain = {r["domain"]: r for r in found}
        assert {"player", "room", "health", "item"} <= by_domain.keys()
        assert by_domain["room"]["verdict"] == "ready for shadow"
        assert set(by_domain["room"]) >= {
            "mode", "next_mode", "ready", "blockers", "minutes_in_mode", "comparisons",
            "open_groups", "error_rates",
        }  # fmt: skip

    async def test_open_group_blocks_shadow(self, client: httpx.AsyncClient, system: Any) -> None:
        from tests.integration.service.injection import diverge

        await put_flag(client, "player", mode="shadow")
        try:
            player = (await client.get("/api/players", params={"limit": 1})).json()[0]
            diverge(system, player["player_id"])
            await system.divergences.flush()
            found = {r["domain"]: r for r in (await client.get("/api/readiness")).json()}
            assert found["player"]["ready"] is False
            assert "open divergence group" in found["player"]["verdict"]
            html = (await client.get("/dashboard")).text
            card = html.split('id="domain-player"')[1].split("</article>")[0]
            assert 'data-ready="no"' in card and "open divergence group" in card
        finally:
            await put_flag(client, "player", mode="legacy")


def catastrophe_decision(domain: str, mode: str) -> Any:
    """A real decision of the guard's rules: every async call failing for a second."""
    from app.guard_rules import Call, Judge, Thresholds

    calls = [Call(100.0 + i / 50, 0.001, 0.001, False, True, True, False) for i in range(50)]
    decision = Judge(lambda _d: Thresholds()).look(domain, mode, calls, 101.0)
    assert decision.rollback is not None
    return decision


class TestGuardBanner:
    """Rollbacks and dry-run decisions on the dashboard, each with its evidence beside it."""

    async def test_rollback_and_dry_run_show_rule_n_estimate_ci_threshold(
        self, client: httpx.AsyncClient, system: Any
    ) -> None:
        await put_flag(client, "room", mode="shadow")
        await put_flag(client, "item", mode="shadow")
        try:
            rolled = catastrophe_decision("room", "shadow")
            await system.flags.set(
                "room", "legacy", reason=f"guard: {rolled.rollback.explain()}", actor="guard",
                extra={"figures": rolled.figures(), "dry_run": False},
            )  # fmt: skip
            dry = catastrophe_decision("item", "shadow")
            await system.flags.note(
                "item", reason=f"guard (dry run, nothing changed): {dry.rollback.explain()}",
                actor="guard", extra={"figures": dry.figures(), "dry_run": True,
                                      "from_mode": "shadow", "to_mode": "legacy"},
            )  # fmt: skip
            assert (await system.flags.get("item")).mode == "shadow"  # nothing changed
            html = (await client.get("/dashboard")).text
            rollbacks = html[html.index('id="guard-rollbacks"') :]
            rollbacks = rollbacks[: rollbacks.index("</div>")]
            assert 'data-rule="catastrophe"' in rollbacks and "<b>room</b>" in rollbacks
            n = rolled.rollback.n["async"]
            assert n >= 20 and f'<dd class="n">async {n}</dd>' in rollbacks
            assert '<dd class="estimate">1</dd>' in rollbacks
            assert '<dd class="threshold">0.5</dd>' in rollbacks
            assert '<dd class="ci">[' in rollbacks
            dry_runs = html[html.index('id="guard-dry-runs"') :]
            dry_runs = dry_runs[: dry_runs.index("</div>")]
            assert "Nothing was changed" in dry_runs and "<b>item</b> would go shadow → legacy" in (
                dry_runs)  # fmt: skip
            assert "<b>item</b>" not in rollbacks
            history = (await client.get("/api/flags/history", params={"domain": "item"})).json()[0]
            assert history["actor"] == "guard" and history["extra"]["dry_run"] is True
            assert (history["previous_mode"], history["mode"]) == ("shadow", "shadow")
        finally:
            await put_flag(client, "room", mode="legacy")
            await put_flag(client, "item", mode="legacy")
