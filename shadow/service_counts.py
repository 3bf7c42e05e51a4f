"""Calls, answering path, comparisons, divergences and errors per (service, domain, operation).

``ServiceCounts`` is fed from two places: the router's attribution wrapper (``record``: every
routed call, which path answered, whether it raised; folded in later) and the shadow engine's
listener (``count_result``: every comparison of a shadowed call, its divergence and shadow
error).
It keeps running totals, exported to Prometheus by :class:`ServiceCollector`, and per-minute
cells that the writer (``shadow.service_store``) drains into PostgreSQL. Divergences are also
kept per group signature, so open groups can be attributed to the services that hit them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from shadow.observation import SHADOW_TIMEOUT, Result
from shadow.signature import normalise_paths, signature

__all__ = ["ServiceCell", "ServiceCollector", "ServiceCounts", "SignatureHit"]

PATHS: Final = ("legacy", "async")
Key = tuple[str, str, str]  # service, domain, operation
MinuteKey = tuple[int, str, str, str]  # epoch minute, service, domain, operation


@dataclass(slots=True)
class ServiceCell:
    """The counters of one (service, domain, operation), over a minute or since start."""

    calls: int = 0
    legacy_answered: int = 0
    async_answered: int = 0
    legacy_errors: int = 0
    async_errors: int = 0
    comparisons: int = 0
    divergences: int = 0
    timeouts: int = 0
    shadow_errors: int = 0

    def merge(self, other: ServiceCell) -> None:
        """Add ``other``'s counts to this cell."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_tuple(self) -> tuple[int, ...]:
        """The counters in column order (``COLUMNS``)."""
        return tuple(getattr(self, name) for name in COLUMNS)


COLUMNS: Final = tuple(f.name for f in fields(ServiceCell))


@dataclass(slots=True)
class SignatureHit:
    """How often one service hit one divergence group since the last write."""

    domain: str
    count: int
    first_seen: float
    last_seen: float


class ServiceCounts:
    """Thread-safe counters by service; see the module docstring."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._totals: dict[Key, ServiceCell] = {}
        self._minutes: dict[MinuteKey, ServiceCell] = {}
        self._hits: dict[tuple[str, str], SignatureHit] = {}
        self._calls: deque[tuple[str, Any, str, bool]] = deque()
        #: Record one routed call: ``(label, operation, answering path, raised)``; thread-safe.
        self.record = self._calls.append

    def fold(self) -> None:
        """Add the calls recorded since the last fold to the totals and the current minute.

        Calls are recorded with a ``deque.append`` on the caller's path and folded here, off
        it (by the writer each interval, and before every read), so a call lands in the
        minute of the fold that took it: at most one interval late.
        """
        pending, minute = self._calls, int(self._clock()) // 60
        with self._lock:
            while pending:
                service, operation, path, failed = pending.popleft()
                for cell in self._cells(minute, service, operation.domain, operation.name):
                    cell.calls += 1
                    if path == "legacy":
                        cell.legacy_answered += 1
                        cell.legacy_errors += failed
                    else:
                        cell.async_answered += 1
                        cell.async_errors += failed

    def count_result(self, service: str, result: Result) -> None:
        """One comparison (or shadow timeout) of a shadowed call of ``service``."""
        kind = result.comparison.kind
        now = self._clock()
        minute = int(now) // 60
        with self._lock:
            for cell in self._cells(minute, service, result.domain, result.operation):
                cell.comparisons += kind != SHADOW_TIMEOUT
                cell.timeouts += kind == SHADOW_TIMEOUT
                cell.divergences += result.mismatched
                cell.shadow_errors += result.shadow.error is not None
            if result.mismatched:
                self._hit(service, result, now)

    def _cells(
        self, minute: int, service: str, domain: str, operation: str
    ) -> tuple[ServiceCell, ServiceCell]:
        """The running total and the minute's cell of one key (made on first use)."""
        key = (service, domain, operation)
        total = self._totals.get(key)
        if total is None:
            total = self._totals[key] = ServiceCell()
        mkey = (minute, service, domain, operation)
        cell = self._minutes.get(mkey)
        if cell is None:
            cell = self._minutes[mkey] = ServiceCell()
        return total, cell

    def _hit(self, service: str, result: Result, now: float) -> None:
        kind = result.kind or ""
        sig = signature(result.domain, result.operation, kind, normalise_paths(result.diff_paths))
        hit = self._hits.get((service, sig))
        if hit is None:
            self._hits[(service, sig)] = SignatureHit(result.domain, 1, now, now)
        else:
            hit.count += 1
            hit.last_seen = now

    def totals(self) -> dict[Key, ServiceCell]:
        """A copy of the running totals."""
        self.fold()
        with self._lock:
            return {key: _copy(cell) for key, cell in self._totals.items()}

    def drain(self) -> tuple[dict[MinuteKey, ServiceCell], dict[tuple[str, str], SignatureHit]]:
        """Take the minute cells and divergence hits not yet written."""
        self.fold()
        with self._lock:
            minutes, self._minutes = self._minutes, {}
            hits, self._hits = self._hits, {}
        return minutes, hits

    def restore(
        self, minutes: dict[MinuteKey, ServiceCell], hits: dict[tuple[str, str], SignatureHit]
    ) -> None:
        """Put back what could not be written."""
        with self._lock:
            for key, cell in minutes.items():
                current = self._minutes.get(key)
                if current is None:
                    self._minutes[key] = cell
                else:
                    current.merge(cell)
            for sig_key, hit in hits.items():
                seen = self._hits.get(sig_key)
                if seen is None:
                    self._hits[sig_key] = hit
                else:
                    seen.count += hit.count
                    seen.first_seen = min(seen.first_seen, hit.first_seen)
                    seen.last_seen = max(seen.last_seen, hit.last_seen)

    def pending(self) -> int:
        """Minute cells and hits waiting to be written."""
        self.fold()
        with self._lock:
            return len(self._minutes) + len(self._hits)


def _copy(cell: ServiceCell) -> ServiceCell:
    out = ServiceCell()
    out.merge(cell)
    return out


def epoch_minute(at: datetime) -> int:
    """The epoch minute of ``at`` (timezone-aware)."""
    return int(at.timestamp()) // 60


class ServiceCollector(Collector):
    """Exports ``ServiceCounts`` to Prometheus with a ``service`` label.

    Every (service, domain, operation) of the configured services (and ``unattributed``) is
    exported from the start at zero, so a dashboard can tell "no calls" from "no data".
    """

    def __init__(
        self, counts: ServiceCounts, services: Any, operations: Iterable[tuple[str, str]]
    ) -> None:
        self._counts = counts
        self._services = services
        self._operations = tuple(operations)

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The four counter families, built from a snapshot of the totals."""
        totals = self._counts.totals()
        for key in self._zero_keys():
            totals.setdefault(key, ServiceCell())
        labels = ["service", "domain", "operation"]
        calls = CounterMetricFamily(
            "dualpath_service_calls",
            "Routed calls by calling service, and the path that answered them.",
            labels=[*labels, "path"],
        )
        errors = CounterMetricFamily(
            "dualpath_service_errors",
            "Routed calls of a calling service whose answering path raised.",
            labels=[*labels, "path"],
        )
        comparisons = CounterMetricFamily(
            "dualpath_service_comparisons",
            "Shadowed calls of a calling service whose two paths were compared.",
            labels=labels,
        )
        divergences = CounterMetricFamily(
            "dualpath_service_divergences",
            "Comparisons of a calling service that diverged (after ignore rules).",
            labels=labels,
        )
        for (service, domain, operation), cell in sorted(totals.items()):
            base = [service, domain, operation]
            calls.add_metric([*base, "legacy"], cell.legacy_answered)
            calls.add_metric([*base, "async"], cell.async_answered)
            errors.add_metric([*base, "legacy"], cell.legacy_errors)
            errors.add_metric([*base, "async"], cell.async_errors)
            comparisons.add_metric(base, cell.comparisons)
            divergences.add_metric(base, cell.divergences)
        yield from (calls, errors, comparisons, divergences)

    def _zero_keys(self) -> Iterator[Key]:
        for service in (*self._services.configured, "unattributed"):
            for domain, operation in self._operations:
                yield (service, domain, operation)

    def describe(self) -> Iterable[Any]:
        """Nothing ahead of time (the families are built at each scrape)."""
        return []
