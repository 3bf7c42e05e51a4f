"""Readiness evidence on the dashboard, read in a real browser (docs/rollout.md, Readiness).

Real reads of ``room`` go through the router in ``shadow``; the domain's card then says its
readiness is inconclusive, and its evidence list names each rule with n, estimate, interval,
threshold and what it still needs: here the 30-minute soak and the 2,995 comparisons that
bound ``get_room_by_id``'s divergence rate below 0.1% at 95%. The list stays open while the
page refreshes itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Served, shot

pytestmark = pytest.mark.e2e

DOMAIN = "room"
READS = 40


async def shadowed_reads(system: Any, count: int) -> None:
    """``count`` shadowed room reads, each compared, written to the rollup in PostgreSQL."""
    rooms = await system.async_layer.list_rooms()
    for index in range(count):
        await system.router.get_room_by_id(rooms[index % len(rooms)].room_id)
        await system.shadow_runner.drain()
    await system.divergences.flush()


class TestReadinessEvidence:
    """A domain in shadow shows why it is not ready yet, rule by rule."""

    def test_card_shows_each_rule_with_its_figures(self, served: Served, page: Any) -> None:
        flags = served.system.flags
        served.call(flags.set(DOMAIN, "shadow", reason="e2e readiness", actor="e2e"))
        try:
            served.call(shadowed_reads(served.system, READS))
            page.goto(f"{served.url}/dashboard")
            verdict = page.locator(f"#domain-{DOMAIN} p.readiness")
            expect(verdict).to_have_attribute("data-outcome", "inconclusive")
            expect(verdict).to_contain_text(f"get_room_by_id: {READS} of 2,995 comparisons")
            expect(verdict).to_contain_text(f"needs {2995 - READS:,} more comparisons")

            evidence = page.locator(f"#evidence-{DOMAIN}")
            rule = evidence.locator('li[data-operation="get_room_by_id"]')
            expect(rule).to_be_hidden()
            evidence.locator("summary").click()
            expect(rule).to_be_visible()
            expect(rule).to_have_attribute("data-outcome", "inconclusive")
            for text in (
                f"n {READS} comparisons", "estimate 0%", "90% [0%, 7.2%]", "threshold <= 0.1%",
                f"inconclusive: needs {2995 - READS:,} more",
            ):  # fmt: skip
                expect(rule).to_contain_text(text)
            soak = evidence.locator('li[data-rule="soak_time"]')
            expect(soak).to_have_attribute("data-outcome", "inconclusive")
            expect(soak).to_contain_text("threshold >= 30 min")
            errors = evidence.locator('li[data-rule="async_error_rate"]')
            expect(errors).to_contain_text(f"n {READS} calls")
            expect(errors).to_contain_text("threshold <= 5.0%")
            shot(page, "readiness-evidence")

            # The page refreshes itself every 5 s; an opened evidence list stays open.
            expect(page.locator("#refreshed")).to_contain_text("updated", timeout=20_000)
            expect(evidence.locator('li[data-operation="get_room_by_id"]')).to_be_visible()
        finally:
            served.call(flags.set(DOMAIN, "legacy", reason="e2e readiness done", actor="e2e"))
