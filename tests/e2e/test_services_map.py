"""The migration map in a real browser: read a cell, then step one service from it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from routing.services import calling_service
from tests.e2e.conftest import TOKEN, Served, shot
from tests.e2e.test_dashboard_browser import set_token

pytestmark = pytest.mark.e2e


async def calls_as(served: Served, service: str, times: int) -> None:
    """``times`` profession reads as ``service``, written to the rollup at once."""
    with calling_service(service):
        for _ in range(times):
            await served.system.router.get_professions()
    await served.system.attribution.flush()


class TestMigrationMap:
    """A newcomer opens the map, reads combat_service's profession cell, and moves it."""

    def test_read_a_cell_and_step_it(self, served: Served, page: Any) -> None:
        served.call(calls_as(served, "combat_service", 7))
        page.goto(f"{served.url}/dashboard/services")
        cell = page.locator("#cell-combat_service-profession")
        expect(cell).to_have_attribute("data-mode", "legacy")
        calls = int(cell.get_attribute("data-calls") or "0")
        assert calls >= 7
        expect(cell.locator(".share")).to_have_text("0.00% async")
        expect(page.locator("#row-unattributed")).to_be_visible()
        shot(page, "services-map")

        set_token(page, TOKEN)
        cell.locator("details.step summary").click()
        form = cell.locator("form")
        form.locator("input[name=reason]").fill("canary: combat reads professions in shadow")
        form.locator("button[type=submit]").click()
        try:  # on success the page refreshes at once: the cell shows the new mode
            expect(page.locator("#cell-combat_service-profession")).to_have_attribute(
                "data-mode", "shadow"
            )
            moved = page.locator("#cell-combat_service-profession")
            expect(moved).to_have_attribute("data-targeted", "yes")
            expect(page.locator("#cell-unattributed-profession")).to_have_attribute(
                "data-mode", "legacy"
            )
            flags = served.system.flags
            assert flags.mode_for("profession", None, "combat_service") == "shadow"
            assert flags.mode_for("profession", None, "user_manager") == "legacy"
            shot(page, "services-map-stepped")
        finally:
            served.call(
                served.system.flags.set(
                    "profession", "legacy", reason="e2e done", actor="e2e", forced=True
                )
            )
