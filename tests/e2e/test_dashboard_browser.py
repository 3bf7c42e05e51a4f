"""The on-call dashboard in a real browser against the real service.

An engineer opens the overview, finds a divergence injected through the shadow engine,
drills into it and sees the differing field highlighted, is refused without the ops token,
ignores the group with the token and sees its count stop growing, and flips a flag from the
page and sees the router follow. Screenshots go to ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TOKEN, Served, shot
from tests.integration.service.injection import diverge

pytestmark = pytest.mark.e2e


def a_player(served: Served) -> str:
    """The id of a seeded player."""
    player_id: str = httpx.get(f"{served.url}/api/players", params={"limit": 1}).json()[0][
        "player_id"
    ]
    return player_id


def inject(served: Served, player_id: str, times: int = 1) -> str:
    """Shadowed reads of ``player_id`` whose paths disagree on health; the group's signature."""
    result = None
    for _ in range(times):
        result = served.run_sync(diverge, served.system, player_id, 90, 85)
    served.call(served.system.divergences.flush())
    signature: str = served.system.shadow.engine.divergence(result, {}).signature
    return signature


def group_count(page: Any) -> int:
    """The count shown on a divergence detail page."""
    return int(page.locator("#group-count").inner_text())


def set_token(page: Any, token: str) -> None:
    """Enter the ops token once for this browser tab."""
    page.fill("#ops-token", token)
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-state")).to_have_text("token set for this tab")


class TestOverview:
    """The overview shows every domain with its mode, chart and figures."""

    def test_overview(self, served: Served, page: Any) -> None:
        page.goto(f"{served.url}/dashboard")
        for domain in ("player", "room", "health", "container", "item"):
            expect(page.locator(f"#domain-{domain}")).to_be_visible()
        expect(page.locator("#domain-player .mode")).to_have_text("legacy")
        expect(page.locator("#domain-player svg.spark")).to_be_visible()
        shot(page, "overview")


class TestDivergenceWorkflow:
    """From the list to the detail, refused without a token, ignored with one."""

    def test_drill_down_refuse_then_ignore(self, served: Served, page: Any) -> None:
        signature = inject(served, a_player(served), times=2)
        page.goto(f"{served.url}/dashboard/divergences?domain=player")
        row = page.locator(f'tr[data-signature="{signature}"]')
        expect(row).to_be_visible()
        expect(row.locator(".status")).to_have_text("open")
        shot(page, "divergence-list")

        row.locator("a").click()
        expect(page).to_have_url(re.compile(f"/dashboard/divergences/{signature}$"))
        highlighted = page.locator("tr.diff", has_text="value.stats.current_health").first
        expect(highlighted).to_be_visible()
        expect(highlighted.locator("td").nth(1)).to_have_text("90")
        expect(highlighted.locator("td").nth(2)).to_have_text("85")
        background = highlighted.locator("td").first.evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        expect(page.locator("tr.diff", has_text="max_health")).to_have_count(0)
        shot(page, "divergence-detail")

        ignore = page.locator("form.api", has=page.locator("button", has_text="Ignore"))
        ignore.locator("input[name=reason]").fill("rounding in the async path, accepted")
        ignore.locator("button").click()
        expect(ignore.locator(".result")).to_contain_text("refused (401)")
        set_token(page, "not-the-token")
        ignore.locator("button").click()
        expect(ignore.locator(".result")).to_contain_text("refused (403)")
        shot(page, "divergence-refused")
        group = httpx.get(f"{served.url}/api/divergences/{signature}").json()
        assert group["status"] == "open"

        before = group_count(page)
        inject(served, a_player(served), times=3)
        page.reload()
        assert group_count(page) == before + 3, "an open group keeps counting"

        set_token(page, TOKEN)
        ignore.locator("input[name=reason]").fill("rounding in the async path, accepted")
        ignore.locator("button").click()
        expect(ignore.locator(".result")).to_have_text("done")
        expect(page.locator("#group-status")).to_have_text("ignored")
        ignored_at = group_count(page)
        inject(served, a_player(served), times=3)
        page.reload()
        expect(page.locator("#group-status")).to_have_text("ignored")
        assert group_count(page) == ignored_at, "an ignored group stops counting"
        shot(page, "divergence-ignored")


class TestFlags:
    """A flag flipped from the page is what the router routes by; the timeline records it."""

    def test_flip_a_flag_from_the_page(self, served: Served, page: Any) -> None:
        page.goto(f"{served.url}/dashboard")
        set_token(page, TOKEN)
        page.click("#change-flag summary")
        form = page.locator("#change-flag form")
        form.locator("select[name=domain]").select_option("player")
        form.locator("select[name=mode]").select_option("shadow")
        form.locator("input[name=percent]").fill("100")
        form.locator("input[name=reason]").fill("shadow players before the canary")
        form.locator("button[type=submit]").click()
        expect(form.locator(".result")).to_have_text("done")
        expect(page.locator("#domain-player .mode")).to_have_text("shadow")
        try:
            flags = served.system.flags
            assert flags.mode_for("player", None, "api") == "shadow"
            player = httpx.get(f"{served.url}/api/players", params={"limit": 1}).json()[0]
            read = httpx.get(f"{served.url}/api/players/{player['player_id']}")
            assert read.status_code == 200 and read.json() == player
            shot(page, "flag-flipped")

            page.goto(f"{served.url}/dashboard/flags")
            latest = page.locator("tbody tr").first
            expect(latest).to_contain_text("shadow players before the canary")
            expect(latest).to_contain_text("ops")
            shot(page, "flag-timeline")
        finally:
            served.call(flags.set("player", "legacy", reason="e2e done", actor="e2e"))

    def test_flag_write_without_token_is_refused(self, served: Served, page: Any) -> None:
        page.goto(f"{served.url}/dashboard")
        page.click("#change-flag summary")
        form = page.locator("#change-flag form")
        form.locator("select[name=domain]").select_option("item")
        form.locator("select[name=mode]").select_option("async")
        form.locator("input[name=reason]").fill("no token here")
        form.locator("button[type=submit]").click()
        expect(form.locator(".result")).to_contain_text("refused (401)")
        assert served.system.flags.mode_for("item", None, "api") == "legacy"
        expect(page.locator("#domain-item .mode")).to_have_text("legacy")
