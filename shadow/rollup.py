"""Per-minute rollups of shadowed calls, accumulated in memory and upserted with each flush.

Each (minute, domain, operation) cell counts calls, comparisons (calls whose shadow
finished), divergences (recorded after ignore rules), ignored comparisons, timeouts and
errors per path (a path's failures: an error whose class, or a base of it, is one of the
given ``refusals``, the caller's own request refused, is not counted), and keeps per path
a latency sum and a fixed-bucket histogram in milliseconds (:data:`BUCKETS_MS` plus one
overflow bucket). Histograms add up across processes and minutes, so the dashboard can
estimate p50/p99 for any window with :func:`percentile` without Prometheus.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from shadow.errors import error_lineage
from shadow.observation import SHADOW_TIMEOUT, Observation

__all__ = ["BUCKETS_MS", "PATHS", "MinuteRollup", "RollupCell", "minute_start", "percentile"]

#: Upper bounds of the latency buckets, in ms; a last bucket holds everything slower.
BUCKETS_MS: Final = (
    0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0,
    100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
)  # fmt: skip
#: The paths that get their own columns.
PATHS: Final = ("legacy", "async")


def _empty_hist() -> list[int]:
    return [0] * (len(BUCKETS_MS) + 1)


@dataclass(slots=True)
class RollupCell:
    """The counters of one (minute, domain, operation)."""

    calls: int = 0
    comparisons: int = 0
    divergences: int = 0
    ignored: int = 0
    timeouts: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATHS, 0))
    latency_sum_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PATHS, 0.0))
    hist: dict[str, list[int]] = field(
        default_factory=lambda: {path: _empty_hist() for path in PATHS}
    )
    served: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    health: dict[str, int] = field(default_factory=dict)

    def observe(self, obs: Observation, refusals: frozenset[str] = frozenset()) -> None:
        """Count one path's latency, and its error unless it is one of ``refusals``."""
        if obs.path not in self.errors:
            return
        ms = obs.duration_s * 1000.0
        self.latency_sum_ms[obs.path] += ms
        self.hist[obs.path][bisect.bisect_left(BUCKETS_MS, ms)] += 1
        if obs.error is not None and not _refused(obs.error, refusals):
            self.errors[obs.path] += 1

    def merge(self, other: RollupCell) -> None:
        """Add ``other``'s counts to this cell."""
        self.calls += other.calls
        self.comparisons += other.comparisons
        self.divergences += other.divergences
        self.ignored += other.ignored
        self.timeouts += other.timeouts
        self.served += other.served
        for name, n in other.skipped.items():
            self.skipped[name] = self.skipped.get(name, 0) + n
        for name, n in other.health.items():
            self.health[name] = self.health.get(name, 0) + n
        for path in PATHS:
            self.errors[path] += other.errors[path]
            self.latency_sum_ms[path] += other.latency_sum_ms[path]
            self.hist[path] = [
                a + b for a, b in zip(self.hist[path], other.hist[path], strict=True)
            ]


def _refused(error: BaseException, refusals: frozenset[str]) -> bool:
    return bool(refusals) and not refusals.isdisjoint(error_lineage(error))


Key = tuple[int, str, str]


class MinuteRollup:
    """The cells not yet written, keyed by (epoch minute, domain, operation).

    Thread-safe: a runner may observe from worker threads while the store drains.
    """

    def __init__(self) -> None:
        self._cells: dict[Key, RollupCell] = {}
        self._lock = threading.Lock()

    def add(
        self,
        domain: str,
        operation: str,
        kind: str | None,
        ignored: bool,
        primary: Observation,
        shadow: Observation,
        refusals: frozenset[str] = frozenset(),
        *,
        health: bool = False,
    ) -> None:
        """Count one shadowed call and its outcome; ``refusals`` are not path errors.

        A ``health`` call is one whose shadow failed for its own health (it timed out, or
        the infrastructure failed it): neither a comparison nor a divergence.
        """
        health = health or kind == SHADOW_TIMEOUT
        with self._lock:
            cell = self._cell(domain, operation)
            cell.calls += 1
            cell.comparisons += not health
            cell.timeouts += kind == SHADOW_TIMEOUT
            cell.divergences += kind is not None and not health
            cell.ignored += ignored
            cell.observe(primary, refusals)
            cell.observe(shadow, refusals)

    def count(self, domain: str, operation: str, figure: str, reason: str = "") -> None:
        """Count one call of the coverage ``figure``: ``served``, ``skipped`` or ``health``."""
        with self._lock:
            cell = self._cell(domain, operation)
            if figure == "served":
                cell.served += 1
            elif figure == "skipped":
                cell.skipped[reason] = cell.skipped.get(reason, 0) + 1
            elif figure == "health":
                cell.health[reason] = cell.health.get(reason, 0) + 1
            else:
                raise ValueError(f"no coverage figure {figure!r}")

    def _cell(self, domain: str, operation: str) -> RollupCell:
        key = (int(time.time()) // 60, domain, operation)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = RollupCell()
        return cell

    def drain(self) -> dict[Key, RollupCell]:
        """Take every cell, leaving the rollup empty."""
        with self._lock:
            cells, self._cells = self._cells, {}
        return cells

    def restore(self, cells: dict[Key, RollupCell]) -> None:
        """Put back cells that could not be written."""
        with self._lock:
            for key, cell in cells.items():
                current = self._cells.get(key)
                if current is None:
                    self._cells[key] = cell
                else:
                    current.merge(cell)

    def __len__(self) -> int:
        return len(self._cells)


def minute_start(epoch_minute: int) -> datetime:
    """The UTC start of an epoch minute."""
    return datetime.fromtimestamp(epoch_minute * 60, UTC)


def percentile(hist: Sequence[int], q: float) -> float | None:
    """Estimate the ``q`` quantile (0..1) in ms from a histogram; ``None`` when empty.

    Interpolates linearly inside the bucket that holds the quantile; the overflow bucket
    reports the last finite bound.
    """
    total = sum(hist)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(hist):
        if count and seen + count >= rank:
            if index >= len(BUCKETS_MS):
                return BUCKETS_MS[-1]
            lower = BUCKETS_MS[index - 1] if index else 0.0
            return lower + (BUCKETS_MS[index] - lower) * max(rank - seen, 0) / count
        seen += count
    return BUCKETS_MS[-1]
