"""The divergence store on real PostgreSQL: groups, exemplars, redaction, logs and batching."""

from __future__ import annotations

import asyncpg
import pytest
from structlog.testing import capture_logs

from shadow import Shadow
from shadow.signature import signature
from tests.integration.shadow.conftest import MakeShadow, Op, async_, diverge, legacy

pytestmark = pytest.mark.integration


class TestGrouping:
    """Divergences with one signature share a group; the count is exact."""

    async def test_groups_and_counts(self, system: Shadow) -> None:
        for i in range(3):
            diverge(system, i=i)
        diverge(system, field_="xp")
        await system.divergences.flush()
        groups = {g.diff_paths: g for g in await system.divergences.groups()}
        assert groups[("root['hp']",)].count == 3
        assert groups[("root['xp']",)].count == 1
        group = groups[("root['hp']",)]
        assert group.signature == signature(
            "players", "get_player", "result_mismatch", ["root['hp']"]
        )
        assert (group.status, group.kind, group.domain) == ("open", "result_mismatch", "players")
        assert group.first_seen <= group.last_seen

    async def test_list_indices_share_a_group(self, system: Shadow) -> None:
        for index in (0, 4):
            items = [{"q": 1}] * 5
            changed = [dict(item) for item in items]
            changed[index] = {"q": 9}
            system.engine.observe(
                Op(), legacy({"inv": items}), async_({"inv": changed}), mode="shadow"
            )
        await system.divergences.flush()
        (group,) = await system.divergences.groups()
        assert (group.count, group.diff_paths) == (2, ("root['inv'][*]['q']",))

    async def test_counts_add_up_across_flushes(self, system: Shadow) -> None:
        diverge(system)
        await system.divergences.flush()
        diverge(system)
        diverge(system)
        await system.divergences.flush()
        (group,) = await system.divergences.groups()
        assert group.count == 3

    async def test_filters(self, system: Shadow) -> None:
        diverge(system)
        diverge(system, Op(domain="items", name="get_item"))
        await system.divergences.flush()
        assert [g.domain for g in await system.divergences.groups(domain="items")] == ["items"]
        assert await system.divergences.groups(kind="effect_mismatch") == []
        assert len(await system.divergences.groups(status="open")) == 2
        assert len(await system.divergences.groups(limit=1)) == 1
        with pytest.raises(ValueError):
            await system.divergences.groups(status="closed")


class TestExemplars:
    """Each group keeps its newest N exemplars, with the call's context."""

    async def test_exemplar_content(self, system: Shadow) -> None:
        result = diverge(system, i=7)
        await system.divergences.flush()
        sig = system.engine.divergence(result, {}).signature
        (ex,) = await system.divergences.exemplars(sig)
        assert ex.inputs == {"i": 7}
        assert ex.primary_result["value"] == {"hp": 1}
        assert ex.shadow_result["value"] == {"hp": 2}
        assert ex.diff == {"root['hp']": {"primary": 1, "shadow": 2}}
        assert (ex.primary_path, ex.mode) == ("legacy", "shadow")
        assert ex.primary_duration_ms == pytest.approx(3.0)

    @pytest.mark.parametrize("flushes", [1, 3])
    async def test_cap_keeps_newest(self, make_shadow: MakeShadow, flushes: int) -> None:
        system = make_shadow(exemplars_per_group=3)
        for i in range(9):
            sig = system.engine.divergence(diverge(system, i=i), {}).signature
            if (i + 1) % (9 // flushes) == 0:
                await system.divergences.flush()
        await system.divergences.flush()
        exemplars = await system.divergences.exemplars(sig)
        assert [ex.inputs["i"] for ex in exemplars] == [8, 7, 6]
        (group,) = await system.divergences.groups()
        assert group.count == 9


class TestRedaction:
    """Configured fields never reach the database or the logs."""

    SECRET = "ada@example.org"

    def _diverge(self, system: Shadow) -> None:
        a = legacy({"email": self.SECRET, "password_hash": "h1", "user": {"email": self.SECRET}})
        b = async_({"email": "other@example.org", "password_hash": "h2", "user": {}})
        system.engine.observe(Op(), a, b, mode="shadow", inputs={"email": self.SECRET})

    async def test_not_in_database(self, system: Shadow, db: asyncpg.Connection) -> None:
        self._diverge(system)
        await system.divergences.flush()
        text = await db.fetchval("SELECT string_agg(e::text, ' ') FROM divergence_exemplars e")
        assert "[redacted]" in text
        for secret in (self.SECRET, "other@example.org", "h1", "h2"):
            assert secret not in text

    async def test_not_in_logs(self, system: Shadow) -> None:
        with capture_logs() as logs:
            self._diverge(system)
            await system.divergences.flush()
        (event,) = [e for e in logs if e["event"] == "shadow.divergence"]
        assert event["inputs"] == {"email": "[redacted]"}
        assert self.SECRET not in repr(event)

    async def test_fields_are_configurable(
        self, make_shadow: MakeShadow, db: asyncpg.Connection
    ) -> None:
        system = make_shadow(redact_fields=frozenset({"name"}))
        system.engine.observe(Op(), legacy({"name": "Ada"}), async_({"name": "Bob"}), mode="shadow")
        await system.divergences.flush()
        text = await db.fetchval("SELECT string_agg(e::text, ' ') FROM divergence_exemplars e")
        assert "Ada" not in text and "Bob" not in text


class TestLogs:
    """One shadow.divergence event per new group, then one every log_every divergences."""

    async def test_new_and_sampled(self, make_shadow: MakeShadow) -> None:
        system = make_shadow(log_every=3)
        with capture_logs() as logs:
            for _ in range(7):
                diverge(system)
                await system.divergences.flush()
        events = [e for e in logs if e["event"] == "shadow.divergence"]
        assert [(e["count"], e["new"]) for e in events] == [(1, True), (3, False), (6, False)]
        assert events[0]["diff_paths"] == ["root['hp']"]
        assert events[0]["log_level"] == "warning"

    async def test_sampling_within_one_batch(self, make_shadow: MakeShadow) -> None:
        system = make_shadow(log_every=100)
        with capture_logs() as logs:
            for _ in range(250):
                diverge(system)
            await system.divergences.flush()
        events = [e for e in logs if e["event"] == "shadow.divergence"]
        assert [e["count"] for e in events] == [250]


class TestBatching:
    """Writes go in batches, from a bounded queue that drops and counts beyond its bound."""

    async def test_many_batches_all_written(self, make_shadow: MakeShadow) -> None:
        system = make_shadow(batch_size=10, flush_interval_s=10)
        for i in range(95):
            diverge(system, i=i)
        assert len(system.store) == 95
        await system.divergences.flush()
        assert len(system.store) == 0
        (group,) = await system.divergences.groups()
        assert group.count == 95

    async def test_full_queue_drops_and_counts(self, make_shadow: MakeShadow) -> None:
        system = make_shadow(max_queue=5, flush_interval_s=10)
        for i in range(8):
            diverge(system, i=i)
        registry = system.metrics.registry
        assert system.store.dropped == 3
        assert registry.get_sample_value("dualpath_shadow_queue_dropped_total") == 3
        assert registry.get_sample_value("dualpath_shadow_queue_depth") == 5
        await system.divergences.flush()
        (group,) = await system.divergences.groups()
        assert group.count == 5
        assert registry.get_sample_value("dualpath_shadow_queue_depth") == 0
