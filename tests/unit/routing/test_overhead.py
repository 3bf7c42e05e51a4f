"""The router's own per-call CPU stays far under the 10 µs budget (no I/O: dispatch only)."""

from __future__ import annotations

import pytest

from bench.router_overhead import measure_dispatch

pytestmark = pytest.mark.unit


class TestBudget:
    """CPU time, not wall time, so a busy machine slows both sides alike."""

    def test_dispatch_overhead_under_budget(self) -> None:
        rows = {row["case"]: row for row in measure_dispatch(calls=20_000)}
        assert rows["dispatch only, async mode (no I/O)"]["overhead_cpu_us"] < 10
        assert rows["sync facade, legacy mode (no I/O)"]["overhead_cpu_us"] < 10
