"""Prometheus signals of the shadow engine, on a registry that is passed in.

Label children are cached, because ``labels()`` costs more than the increment itself and
these are touched on every shadowed call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from shadow.observation import KINDS, Observation

__all__ = ["OUTCOMES", "PATHS", "ShadowMetrics"]

#: Every outcome a comparison can have: a match, an ignored difference, or a kind.
OUTCOMES = ("match", "ignored", *KINDS)
PATHS = ("legacy", "async")

_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip


class ShadowMetrics:
    """Comparisons by outcome, latency and errors per path, queue drops and depth."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = REGISTRY if registry is None else registry
        self.registry = registry
        self.comparisons = Counter(
            "dualpath_shadow_comparisons",
            "Shadowed calls by outcome: match, ignored, or the divergence kind.",
            ["domain", "operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "dualpath_shadow_path_duration_seconds",
            "Duration of each path of a shadowed call.",
            ["path", "domain", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "dualpath_shadow_path_errors",
            "Shadowed calls in which a path raised.",
            ["path", "domain", "operation"],
            registry=registry,
        )
        self.dropped = Counter(
            "dualpath_shadow_queue_dropped",
            "Divergences dropped because the store queue was full.",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "dualpath_shadow_queue_depth",
            "Divergences waiting to be written.",
            registry=registry,
        )
        self.store_failures = Counter(
            "dualpath_shadow_store_failures",
            "Failed attempts to write a batch to the divergence store.",
            registry=registry,
        )
        self.calls = Counter(
            "dualpath_shadow_calls",
            "Calls served in shadow or live mode: compared, skipped or failed by the shadow.",
            ["domain", "operation"],
            registry=registry,
        )
        self.skipped = Counter(
            "dualpath_shadow_skipped",
            "Calls served in shadow or live mode that were not compared, by reason.",
            ["domain", "operation", "reason"],
            registry=registry,
        )
        self.health_errors = Counter(
            "dualpath_shadow_health_errors",
            "Calls whose shadow path timed out or failed for an infrastructure reason.",
            ["domain", "operation", "kind"],
            registry=registry,
        )
        self.noise_groups = Gauge(
            "dualpath_divergence_groups_noise",
            "Divergence groups that A/A calibration judges noise now, by domain.",
            ["domain"],
            registry=registry,
        )
        self.calibration_runs = Counter(
            "dualpath_calibration_runs",
            "A/A calibration runs compared (the primary's path against itself).",
            ["domain", "operation"],
            registry=registry,
        )
        self._domains: set[str] = set()
        self._outcomes: dict[tuple[str, str, str], Callable[[], None]] = {}
        self._coverage: dict[tuple[object, ...], Callable[[], None]] = {}
        self._paths: dict[tuple[str, str, str], tuple[Histogram, Counter]] = {}

    def start_at_zero(self, operations: Iterable[tuple[str, str]]) -> None:
        """Export every (domain, operation) series at 0 before its first call.

        A rate over a series that does not exist yet is no data, not 0: a dashboard would
        show "No data" for a domain that never diverged.
        """
        for domain, operation in operations:
            self.calibration_runs.labels(domain, operation)
            if domain not in self._domains:
                self._domains.add(domain)
                self.noise_groups.labels(domain).set(0)
            for outcome in OUTCOMES:
                self.comparisons.labels(domain, operation, outcome)
            for path in PATHS:
                self.latency.labels(path, domain, operation)
                self.errors.labels(path, domain, operation)

    def noise(self, by_domain: Mapping[str, int]) -> None:
        """The groups judged noise now, per domain; every domain known is set, 0 if none."""
        for domain in self._domains | set(by_domain):
            self.noise_groups.labels(domain).set(by_domain.get(domain, 0))

    def count(self, domain: str, operation: str, outcome: str) -> None:
        """One comparison of ``domain``/``operation`` with ``outcome``."""
        key = (domain, operation, outcome)
        inc = self._outcomes.get(key)
        if inc is None:
            inc = self._outcomes[key] = self.comparisons.labels(domain, operation, outcome).inc
        inc()

    def start_coverage(
        self, operations: list[tuple[str, str]], reasons: list[str], kinds: list[str]
    ) -> None:
        """Export the coverage counters of every operation, reason and kind from zero."""
        for domain, operation in operations:
            self._child(self.calls, domain, operation)
            for reason in reasons:
                self._child(self.skipped, domain, operation, reason)
            for kind in kinds:
                self._child(self.health_errors, domain, operation, kind)

    def served(self, domain: str, operation: str) -> None:
        """One call served in shadow or live mode."""
        self._child(self.calls, domain, operation)()

    def skip(self, domain: str, operation: str, reason: str) -> None:
        """One call not compared, for ``reason``."""
        self._child(self.skipped, domain, operation, reason)()

    def unhealthy(self, domain: str, operation: str, kind: str) -> None:
        """One call whose shadow path failed for its own health (``kind``)."""
        self._child(self.health_errors, domain, operation, kind)()

    def _child(self, counter: Counter, *labels: str) -> Callable[[], None]:
        key = (counter, *labels)
        inc = self._coverage.get(key)
        if inc is None:
            inc = self._coverage[key] = counter.labels(*labels).inc
        return inc

    def observe(self, domain: str, operation: str, obs: Observation) -> None:
        """One path's duration, and its error if it raised."""
        key = (obs.path, domain, operation)
        children = self._paths.get(key)
        if children is None:
            children = self._paths[key] = (
                self.latency.labels(*key),
                self.errors.labels(*key),
            )
        children[0].observe(obs.duration_s)
        if obs.error is not None:
            children[1].inc()

    def track_queue(self, depth: Callable[[], int]) -> None:
        """Report ``depth()`` as the queue depth at each scrape."""
        self.queue_depth.set_function(lambda: float(depth()))
