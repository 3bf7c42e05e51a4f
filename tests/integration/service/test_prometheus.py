"""A real Prometheus scrapes a running ``dualpath serve``; every Grafana query returns data.

Prometheus (Debian's ``prometheus``, ``tests/prereqs.py`` installs it) starts on a free port
with a temporary configuration that scrapes the service every second. Once it holds a few
scrapes, every expression of ``dashboards/grafana/dualpath.json`` is evaluated through its
HTTP API, as Grafana would, and each must return at least one series: a counter whose labels
are known is exported at 0 from the start, so no panel says "No data" on a quiet system.
``promtool check metrics`` must find nothing to say about ``/metrics``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards import GRAFANA_DASHBOARD
from tests.integration.service.served import Serving, free_port, serving
from tests.integration.service.test_grafana import expressions

pytestmark = pytest.mark.integration

SCRAPES = 6  # samples of each series before the queries run (rate needs two)
RATE_WINDOW = "30s"  # stands for Grafana's $__rate_interval


@pytest.fixture(scope="module")
def service(service_database: str) -> Iterator[Serving]:
    """``dualpath serve`` over the service test database, with a little game traffic."""
    with serving(service_database) as served:
        players = httpx.get(f"{served.url}/api/players", params={"limit": 3}).json()
        for player in players:
            httpx.get(f"{served.url}/api/players/{player['player_id']}").raise_for_status()
        httpx.get(f"{served.url}/api/rooms").raise_for_status()
        yield served


@pytest.fixture(scope="module")
def prometheus(service: Serving, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus on a free port scraping ``service`` every second; its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `python -m tests.prereqs test --install`")
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    target = service.url.removeprefix("http://")
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: dualpath\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(folder / "prometheus.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_scrapes(url, folder / "prometheus.log")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def wait_for_scrapes(url: str, log: Path, deadline_s: float = 120) -> None:
    """Until Prometheus holds ``SCRAPES`` successful scrapes of the service."""
    deadline = time.monotonic() + deadline_s
    query = f'sum_over_time(up{{job="dualpath"}}[{RATE_WINDOW}])'
    while time.monotonic() < deadline:
        try:
            # Prometheus answers 503 until its storage is ready: not ready yet, not an error.
            ready = httpx.get(f"{url}/-/ready", timeout=10).status_code == 200
            found = query_prometheus(url, query) if ready else []
        except httpx.HTTPError:
            found = []
        if found and float(found[0]["value"][1]) >= SCRAPES:
            return
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus did not scrape the service: {log.read_text()[-2000:]}")


def query_prometheus(url: str, expr: str) -> list[dict[str, Any]]:
    """The instant vector ``expr`` evaluates to now; the query must be valid."""
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def as_grafana_would(expr: str) -> str:
    """``expr`` with the dashboard's variables set: every domain, the rate window."""
    return expr.replace("$__rate_interval", RATE_WINDOW).replace("$domain", ".*")


class TestGrafanaQueries:
    """Every expression of the dashboard returns data from a real scrape."""

    def test_every_expression_returns_data(self, prometheus: str) -> None:
        dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
        exprs = list(dict.fromkeys(expressions(dashboard)))
        empty = [e for e in exprs if not query_prometheus(prometheus, as_grafana_would(e))]
        assert len(exprs) >= 12
        assert empty == [], f"no data for: {empty}"

    def test_zero_before_the_first_divergence(self, prometheus: str) -> None:
        found = query_prometheus(
            prometheus, 'dualpath_shadow_comparisons_total{outcome="result_mismatch"}'
        )
        domains = {series["metric"]["domain"] for series in found}
        assert {"player", "room", "health", "container", "item"} <= domains
        rollbacks = query_prometheus(prometheus, "dualpath_guard_rollbacks_total")
        assert {s["metric"]["domain"] for s in rollbacks} >= {"player", "health"}


class TestExposition:
    """``/metrics`` passes Prometheus's own linter."""

    def test_promtool_check_metrics(self, service: Serving) -> None:
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail("promtool is not installed: run `python -m tests.prereqs test --install`")
        text = httpx.get(f"{service.url}/metrics").text
        done = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
