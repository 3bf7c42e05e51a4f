"""No dashboard page writes an error to the browser console, or fails to load a resource.

Each page is opened in Chromium with a listener on the console, on uncaught page errors and
on every response; the favicon the browser asks for by itself included.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Served
from tests.e2e.test_dashboard_browser import a_player, inject

pytestmark = pytest.mark.e2e

PAGES = ("/dashboard", "/dashboard/divergences", "/dashboard/flags", "/dashboard/services")


def visit(page: Any, url: str) -> list[str]:
    """Open ``url``; every console error, page error and failed response while it loads."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.text}") if m.type == "error" else 0)
    page.on("pageerror", lambda error: problems.append(f"page error {error}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return problems


class TestConsole:
    """Every page loads without an error in the console."""

    @pytest.mark.parametrize("path", PAGES)
    def test_page(self, served: Served, page: Any, path: str) -> None:
        assert visit(page, f"{served.url}{path}") == []

    def test_divergence_detail(self, served: Served, page: Any) -> None:
        signature = inject(served, a_player(served))
        assert visit(page, f"{served.url}/dashboard/divergences/{signature}") == []

    def test_favicon(self, served: Served, page: Any) -> None:
        response = page.request.get(f"{served.url}/favicon.ico")
        assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"

    def test_static_urls_carry_no_host(self, served: Served, page: Any) -> None:
        html = page.request.get(f"{served.url}/dashboard").text()
        assert 'href="/dashboard/static/dashboard.css"' in html
        assert "http://127.0.0.1" not in html
