"""Local overrides on a real PostgreSQL: a cap in every process, cleared by the next set."""

from __future__ import annotations

import asyncpg
import pytest

from flags.environment import EnvironmentFlags
from flags.model import FlagError
from flags.overrides import OverriddenFlags
from flags.postgres import PostgresFlagStore
from flags.transitions import TransitionError
from tests.integration.guard.conftest import eventually

pytestmark = pytest.mark.integration


async def live(flags: OverriddenFlags, domain: str, percent: int = 100) -> None:
    await flags.set(domain, "shadow", reason="step 1", actor="ops")
    await flags.set(domain, "live", percent=percent, reason="step 2", actor="ops")


class TestTransitionsThroughProviders:
    """Every provider's ``set`` enforces the rollout order; a forced jump is audited."""

    async def test_postgres_refuses_a_jump_and_changes_nothing(
        self, database_url: str, domains: list[str]
    ) -> None:
        store = PostgresFlagStore(database_url, domains, reload_interval=60)
        await store.start()
        try:
            with pytest.raises(TransitionError):
                await store.set(domains[0], "live", reason="jump", actor="ops")
            assert (await store.get(domains[0])).mode == "legacy"
            assert await store.history(domains[0]) == []
            await store.set(domains[0], "async", reason="jump", actor="ops", forced=True)
            (change,) = await store.history(domains[0])
            assert (change.previous_mode, change.mode, change.forced) == (None, "async", True)
            await store.set(domains[0], "legacy", reason="any step back", actor="ops")
        finally:
            await store.close()

    async def test_wrapper_checks_against_the_capped_mode(
        self, flags: OverriddenFlags, domains: list[str]
    ) -> None:
        await live(flags, domains[0])
        await flags.override(domains[0], "legacy", reason="guard test", actor="guard")
        with pytest.raises(TransitionError, match="legacy → live"):
            await flags.set(domains[0], "live", reason="too far", actor="ops")


class TestOverrides:
    """An override caps calls at once, reaches other processes, and the next set clears it."""

    async def test_caps_each_call_without_widening_the_rollout(
        self, flags: OverriddenFlags, domains: list[str]
    ) -> None:
        await live(flags, domains[0], percent=30)
        before = [flags.mode_for(domains[0], f"k{i}", None) for i in range(500)]
        await flags.override(domains[0], "shadow", reason="guard", actor="guard", extra={"n": 1})
        after = [flags.mode_for(domains[0], f"k{i}", None) for i in range(500)]
        assert [("shadow" if m == "live" else m) for m in before] == after
        assert await flags.effective_mode(domains[0]) == "shadow"
        assert (await flags.get(domains[0])).mode == "live"  # the provider's flag is unchanged

    async def test_reaches_another_follower_within_a_second(
        self, flags: OverriddenFlags, database_url: str, domains: list[str]
    ) -> None:
        await live(flags, domains[0])
        other = OverriddenFlags(
            PostgresFlagStore(database_url, domains, reload_interval=60),
            database_url,
            domains,
            reload_interval=60,
        )
        await other.start()
        try:
            await eventually(lambda: other.mode_for(domains[0], "k", None) == "live", 2)
            await flags.override(domains[0], "shadow", reason="guard", actor="guard")
            took = await eventually(lambda: other.mode_for(domains[0], "k", None) == "shadow", 1)
            assert took < 1.0
            assert other.override_for(domains[0]) is not None
            await flags.set(domains[0], "live", reason="fixed", actor="ops")
            await eventually(lambda: other.mode_for(domains[0], "k", None) == "live", 1)
            assert other.override_for(domains[0]) is None
        finally:
            await other.close()

    async def test_audited_set_then_cleared(
        self, flags: OverriddenFlags, database_url: str, domains: list[str]
    ) -> None:
        await live(flags, domains[0])
        await flags.override(
            domains[0], "shadow", reason="error rate 0.4", actor="guard", extra={"rate": 0.4}
        )
        await flags.set(domains[0], "live", percent=50, reason="fixed", actor="alice")
        changes = await flags.history(domains[0])
        assert [(c.actor, c.mode) for c in changes[:2]] == [("alice", "live"), ("guard", "shadow")]
        assert changes[1].extra == {"rate": 0.4, "override": "set"}
        assert flags.overrides() == {}
        conn = await asyncpg.connect(database_url)
        try:
            count = await conn.fetchval(
                "SELECT count(*) FROM flag_overrides WHERE domain = $1", domains[0]
            )
        finally:
            await conn.close()
        assert count == 0

    async def test_read_only_provider_cleared_by_setting_its_own_mode(
        self, database_url: str, domains: list[str]
    ) -> None:
        flags = OverriddenFlags(
            EnvironmentFlags(f"{domains[0]}=async", domains), database_url, domains
        )
        await flags.start()
        try:
            await flags.override(domains[0], "legacy", reason="guard", actor="guard")
            assert flags.mode_for(domains[0], "k", None) == "legacy"
            with pytest.raises(FlagError, match="read-only"):
                await flags.set(domains[0], "shadow", reason="try", actor="ops")
            assert flags.mode_for(domains[0], "k", None) == "legacy"
            await flags.set(domains[0], "async", reason="fixed", actor="ops", forced=True)
            assert flags.mode_for(domains[0], "k", None) == "async"
            history = await flags.history(domains[0])
            assert [(c.actor, c.extra.get("override")) for c in history] == [
                ("ops", "cleared"),
                ("guard", "set"),
            ]
        finally:
            await flags.close()

    async def test_database_down_still_caps_here_and_is_written_later(
        self, domains: list[str]
    ) -> None:
        flags = OverriddenFlags(
            EnvironmentFlags(f"{domains[0]}=async", domains),
            "postgresql://postgres@127.0.0.1:9/none",
            domains,
            timeout=0.5,
        )
        await flags.start()
        try:
            await flags.override(domains[0], "legacy", reason="guard", actor="guard")
            assert flags.mode_for(domains[0], "k", None) == "legacy"
        finally:
            await flags.close()


class TestDecisionCost:
    """``mode_for`` stays in memory: at most 5 µs a call, with or without an override."""

    async def test_per_call_cost(self, flags: OverriddenFlags, domains: list[str]) -> None:
        import time

        await live(flags, domains[0], percent=50)
        await flags.override(domains[0], "shadow", reason="guard", actor="guard")
        keys = [f"player-{i}" for i in range(1000)]
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for key in keys:
                flags.mode_for(domains[0], key, "api")
                flags.mode_for(domains[1], key, "api")
            best = min(best, (time.perf_counter() - started) / (2 * len(keys)))
        assert best < 5e-6, f"{best * 1e6:.2f} µs per decision"
