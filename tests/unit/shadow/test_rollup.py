"""The per-minute rollup counts outcomes and latencies, and estimates percentiles."""

from __future__ import annotations

import pytest

from shadow.observation import SHADOW_TIMEOUT, Observation
from shadow.rollup import BUCKETS_MS, MinuteRollup, percentile

pytestmark = pytest.mark.unit


def obs(path: str, ms: float, error: BaseException | None = None) -> Observation:
    return Observation(path, None, error, ms / 1000)


class TestMinuteRollup:
    """One cell per (minute, domain, operation), drained whole and restorable."""

    def test_counts_outcomes(self) -> None:
        """A shadow timeout is the shadow's health: neither a comparison nor a divergence."""
        rollup = MinuteRollup()
        rollup.add("p", "get", None, False, obs("legacy", 1), obs("async", 2))
        rollup.add("p", "get", "result_mismatch", False, obs("legacy", 1), obs("async", 2))
        rollup.add("p", "get", None, True, obs("legacy", 1), obs("async", 2))
        rollup.add(
            "p", "get", SHADOW_TIMEOUT, False, obs("legacy", 1), obs("async", 50, TimeoutError())
        )
        (cell,) = rollup.drain().values()
        assert (cell.calls, cell.comparisons, cell.divergences, cell.ignored, cell.timeouts) == (
            4, 3, 1, 1, 1,
        )  # fmt: skip
        assert cell.errors == {"legacy": 0, "async": 1}
        assert cell.latency_sum_ms["legacy"] == pytest.approx(4.0)
        assert sum(cell.hist["async"]) == 4

    def test_coverage_figures_are_counted_and_merged(self) -> None:
        rollup = MinuteRollup()
        rollup.count("p", "get", "served")
        rollup.count("p", "get", "skipped", "saturated")
        rollup.count("p", "get", "health", "timeout")
        cells = rollup.drain()
        rollup.count("p", "get", "served")
        rollup.count("p", "get", "skipped", "saturated")
        rollup.count("p", "get", "skipped", "raced")
        rollup.restore(cells)
        (cell,) = rollup.drain().values()
        assert (cell.served, cell.skipped, cell.health) == (
            2, {"saturated": 2, "raced": 1}, {"timeout": 1},
        )  # fmt: skip

    def test_drain_empties_and_restore_merges(self) -> None:
        rollup = MinuteRollup()
        rollup.add("p", "get", None, False, obs("legacy", 1), obs("async", 2))
        cells = rollup.drain()
        assert len(rollup) == 0
        rollup.add("p", "get", None, False, obs("legacy", 1), obs("async", 2))
        rollup.restore(cells)
        (cell,) = rollup.drain().values()
        assert cell.calls == 2
        assert sum(cell.hist["legacy"]) == 2

    def test_unknown_paths_are_not_counted_as_latency(self) -> None:
        rollup = MinuteRollup()
        rollup.add("p", "get", None, False, obs("other", 1), obs("async", 2))
        (cell,) = rollup.drain().values()
        assert sum(cell.hist["legacy"]) == 0


class TestPercentile:
    """Percentiles interpolate inside the bucket that holds them."""

    def test_empty_is_none(self) -> None:
        assert percentile([0] * (len(BUCKETS_MS) + 1), 0.5) is None

    def test_single_bucket(self) -> None:
        hist = [0] * (len(BUCKETS_MS) + 1)
        hist[BUCKETS_MS.index(2.0)] = 10  # (1, 2] ms
        assert 1.0 < percentile(hist, 0.5) <= 2.0  # type: ignore[operator]

    def test_p99_sees_the_slow_tail(self) -> None:
        hist = [0] * (len(BUCKETS_MS) + 1)
        hist[BUCKETS_MS.index(1.0)] = 98
        hist[BUCKETS_MS.index(500.0)] = 2
        assert percentile(hist, 0.5) <= 1.0  # type: ignore[operator]
        assert percentile(hist, 0.99) > 200.0  # type: ignore[operator]

    def test_overflow_reports_last_bound(self) -> None:
        hist = [0] * len(BUCKETS_MS) + [3]
        assert percentile(hist, 0.5) == BUCKETS_MS[-1]


def test_concurrent_adds_are_all_counted() -> None:
    """Observations from several threads lose no counts."""
    import threading

    rollup = MinuteRollup()

    def work() -> None:
        for _ in range(2000):
            rollup.add("p", "get", None, False, obs("legacy", 1), obs("async", 2))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(cell.calls for cell in rollup.drain().values()) == 8000


class TestRefusals:
    """A refusal of the caller's request is not a path's error; its subclasses neither."""

    class Refused(Exception):
        pass

    class Missing(Refused):
        pass

    def test_refusals_are_not_counted_as_errors(self) -> None:
        refusals = frozenset({f"{__name__}.TestRefusals.Refused"})
        rollup = MinuteRollup()
        for error in (self.Refused(), self.Missing()):
            rollup.add("p", "get", None, False, obs("legacy", 1, error), obs("async", 2, error),
                       refusals)  # fmt: skip
        rollup.add("p", "get", None, False, obs("legacy", 1), obs("async", 2, KeyError("k")),
                   refusals)  # fmt: skip
        (cell,) = rollup.drain().values()
        assert (cell.calls, cell.comparisons) == (3, 3)
        assert cell.errors == {"legacy": 0, "async": 1}

    def test_without_refusals_every_error_counts(self) -> None:
        rollup = MinuteRollup()
        rollup.add("p", "get", None, False, obs("legacy", 1, self.Refused()), obs("async", 2))
        (cell,) = rollup.drain().values()
        assert cell.errors == {"legacy": 1, "async": 0}
