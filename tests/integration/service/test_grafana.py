"""Every PromQL expression of the Grafana dashboard names only metrics the service exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dashboards import GRAFANA_DASHBOARD
from tests.integration.service.injection import attach_shadow, diverge

pytestmark = pytest.mark.integration

KEYWORDS = frozenset(
    "by without on ignoring group_left group_right bool and or unless offset".split()
)
STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
MATCHERS = re.compile(r"\{[^}]*\}")
GROUPINGS = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
RANGES = re.compile(r"\[[^\]]*\]")
NAMES = re.compile(r"(?<![\w:$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
# The shadow runner's coverage counters, which the dashboard charts before the runner exports
# them; each is removed from here when it is exported (the test below then says so).
PENDING = frozenset(
    {
        "dualpath_shadow_calls_total",
        "dualpath_shadow_skipped_total",
        "dualpath_shadow_health_errors_total",
    }
)


def expressions(node: Any) -> Iterator[str]:
    """Every ``expr`` of every target, and every variable query, anywhere in the JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str) and "label_values(" in value:
                yield value.replace("label_values(", "(").split(",")[0] + ")"
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (functions, labels and keywords left out)."""
    bare = RANGES.sub("", GROUPINGS.sub("", MATCHERS.sub("", STRINGS.sub('""', expr))))
    return {n for n in NAMES.findall(bare) if n not in KEYWORDS and not n.startswith("__")}


def exported(text: str) -> set[str]:
    """Every sample name in a Prometheus exposition (``_bucket``/``_sum``/``_count`` included)."""
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


class TestExpressionParser:
    """The name extraction itself: names kept, functions, labels and ranges dropped."""

    def test_names(self) -> None:
        expr = (
            'histogram_quantile(0.99, sum by (le, path) (rate(x_bucket{domain=~"$d"}'
            "[$__rate_interval]))) / sum(y_total) == 1"
        )
        assert metric_names(expr) == {"x_bucket", "y_total"}


class TestGrafanaDashboard:
    """The dashboard parses and every expression is backed by a live metric."""

    @pytest.mark.asyncio(loop_scope="package")
    async def test_every_metric_is_exported(
        self, client: httpx.AsyncClient, system: Any, player: dict
    ) -> None:
        attach_shadow(system)
        diverge(system, player["player_id"])
        await client.get("/api/rooms")
        live = exported((await client.get("/metrics")).text)
        dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
        exprs = list(expressions(dashboard))
        used = set().union(*(metric_names(e) for e in exprs))
        assert len(exprs) >= 10 and len(used) >= 8
        assert used - PENDING <= live, f"not exported: {sorted(used - PENDING - live)}"
        assert not PENDING & live, f"exported now, remove from PENDING: {sorted(PENDING & live)}"
        assert PENDING <= used

    def test_covers_what_on_call_needs(self) -> None:
        text = GRAFANA_DASHBOARD.read_text()
        for metric in (
            "dualpath_shadow_comparisons_total",
            "dualpath_shadow_path_duration_seconds_bucket",
            "dualpath_shadow_path_errors_total",
            "dualpath_flag_mode",
            "dualpath_shadow_queue_dropped_total",
        ):
            assert metric in text
