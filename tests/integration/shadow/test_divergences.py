"""Decisions on groups: ignore (with rules), reopen, mark fixed, and unknown signatures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shadow import DivergenceGroup, Shadow, UnknownSignature
from tests.integration.shadow.conftest import Op, async_, diverge, legacy

pytestmark = pytest.mark.integration


async def one_group(system: Shadow) -> DivergenceGroup:
    diverge(system)
    await system.divergences.flush()
    (group,) = await system.divergences.groups()
    return group


async def count_of(system: Shadow, signature: str) -> int:
    await system.divergences.flush()
    return (await system.divergences.group(signature)).count


class TestIgnore:
    """Ignoring a group stops its divergences from being recorded, until the rule expires."""

    async def test_ignore_sets_status_and_rules(
        self, system: Shadow, db: asyncpg.Connection
    ) -> None:
        group = await one_group(system)
        ignored = await system.divergences.ignore(group.signature, reason="clock skew", actor="ada")
        assert (ignored.status, ignored.status_reason, ignored.status_by) == (
            "ignored",
            "clock skew",
            "ada",
        )
        rows = await db.fetch(
            "SELECT domain, operation, path, owner, signature FROM shadow_ignore_rules"
        )
        assert [tuple(r) for r in rows] == [
            ("players", "get_player", "root['hp']", "ada", group.signature)
        ]

    async def test_ignored_divergences_are_not_recorded(self, system: Shadow) -> None:
        group = await one_group(system)
        await system.divergences.ignore(group.signature, reason="known", actor="ada")
        result = diverge_or_ignored(system)
        assert result
        assert await count_of(system, group.signature) == 1
        assert len(await system.divergences.exemplars(group.signature)) == 1

    async def test_expired_rule_stops_applying(self, system: Shadow) -> None:
        group = await one_group(system)
        soon = datetime.now(UTC) + timedelta(seconds=1)
        await system.divergences.ignore(group.signature, reason="r", actor="ada", expires_at=soon)
        assert diverge_or_ignored(system)
        await asyncio.sleep(1.1)
        diverge(system)
        assert await count_of(system, group.signature) == 2
        assert (await system.divergences.group(group.signature)).status == "ignored"

    async def test_ignored_group_keeps_counting(self, system: Shadow) -> None:
        group = await one_group(system)
        past = datetime.now(UTC) - timedelta(seconds=1)
        await system.divergences.ignore(group.signature, reason="r", actor="ada", expires_at=past)
        diverge(system)
        assert await count_of(system, group.signature) == 2
        assert (await system.divergences.group(group.signature)).status == "ignored"

    async def test_rules_added_elsewhere_are_picked_up(
        self, system: Shadow, db: asyncpg.Connection
    ) -> None:
        await db.execute(
            "INSERT INTO shadow_ignore_rules (domain, operation, path, reason, owner)"
            " VALUES ('players', 'get_player', 'root[''hp'']', 'from another node', 'bob')"
        )
        for _ in range(50):
            await asyncio.sleep(0.05)
            if len(system.rules):
                break
        assert diverge_or_ignored(system)


def diverge_or_ignored(system: Shadow) -> bool:
    """Observe the usual divergence; whether it was ignored."""
    result = system.engine.observe(Op(), legacy({"hp": 1}), async_({"hp": 2}), mode="shadow")
    assert result is not None
    return result.ignored and not result.mismatched


class TestStatus:
    """open → ignored/fixed → open; a fixed group that diverges again reopens by itself."""

    async def test_fixed_group_reopens_on_divergence(self, system: Shadow) -> None:
        group = await one_group(system)
        fixed = await system.divergences.mark_fixed(group.signature, actor="ada", reason="PR 12")
        assert (fixed.status, fixed.status_reason) == ("fixed", "PR 12")
        diverge(system)
        await system.divergences.flush()
        again = await system.divergences.group(group.signature)
        assert (again.status, again.status_by, again.count) == ("open", "shadow", 2)
        assert again.status_reason == "diverged again after being fixed"

    async def test_reopen_is_logged(self, system: Shadow) -> None:
        from structlog.testing import capture_logs

        group = await one_group(system)
        await system.divergences.mark_fixed(group.signature, actor="ada")
        with capture_logs() as logs:
            diverge(system)
            await system.divergences.flush()
        (event,) = [e for e in logs if e["event"] == "shadow.divergence"]
        assert event["reopened"] is True and event["new"] is False

    async def test_reopen_ends_the_rules(self, system: Shadow) -> None:
        group = await one_group(system)
        await system.divergences.ignore(group.signature, reason="r", actor="ada")
        reopened = await system.divergences.reopen(group.signature, actor="bob", reason="regressed")
        assert (reopened.status, reopened.status_by) == ("open", "bob")
        assert len(system.rules) == 0
        diverge(system)
        assert await count_of(system, group.signature) == 2

    async def test_decisions_need_an_actor(self, system: Shadow) -> None:
        group = await one_group(system)
        with pytest.raises(ValueError):
            await system.divergences.mark_fixed(group.signature, actor=" ")


class TestUnknownSignature:
    """Every call that names a group raises UnknownSignature (a KeyError) for an unknown one."""

    @pytest.mark.parametrize("call", ["group", "exemplars", "ignore", "reopen", "mark_fixed"])
    async def test_unknown(self, system: Shadow, call: str) -> None:
        kwargs = {"ignore": {"reason": "r", "actor": "a"}}.get(call, {})
        if call in ("reopen", "mark_fixed"):
            kwargs = {"actor": "a"}
        with pytest.raises(UnknownSignature) as info:
            await getattr(system.divergences, call)("f" * 32, **kwargs)
        assert isinstance(info.value, KeyError)
        assert "no divergence group" in str(info.value)
