"""Coverage: of the calls served in ``shadow`` or ``live``, how many were compared, and why not.

Every shadowed call ends as exactly one of: compared (counted by the engine, in
``dualpath_shadow_comparisons``), skipped for a reason (``dualpath_shadow_skipped``), or a
failure of the shadow path itself, its health (``dualpath_shadow_health_errors``: it timed
out, or the database or network failed it). ``dualpath_shadow_calls`` counts them all, so
coverage is ``comparisons / calls``. The same counts go into the per-minute rollup, which is
where the dashboard, ``dualpath status`` and readiness read them from, across processes.

The shadow's health failures are kept visible by their latest exemplars (inputs, elapsed
time), in memory, per domain: they never open a divergence group.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shadow.metrics import ShadowMetrics
from shadow.normalise import normalise
from shadow.redact import DEFAULT_REDACTED, redact
from shadow.rollup import MinuteRollup

__all__ = ["HEALTH_KINDS", "INFRASTRUCTURE", "TIMEOUT", "Coverage", "HealthExemplar"]

#: The shadow path did not finish within its time.
TIMEOUT: Final = "timeout"
#: The shadow path failed for an infrastructure reason (database, network, pool).
INFRASTRUCTURE: Final = "infrastructure"
HEALTH_KINDS: Final = (TIMEOUT, INFRASTRUCTURE)
#: How many health exemplars are kept per domain.
EXEMPLARS_KEPT: Final = 5


@dataclass(frozen=True, slots=True)
class HealthExemplar:
    """One shadow that failed for its own health: what it was asked, how long it ran."""

    domain: str
    operation: str
    kind: str
    mode: str
    shadow_path: str
    elapsed_ms: float
    inputs: Any
    error: str | None
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "domain": self.domain,
            "operation": self.operation,
            "kind": self.kind,
            "mode": self.mode,
            "shadow_path": self.shadow_path,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "inputs": self.inputs,
            "error": self.error,
            "at": self.at.isoformat(),
        }


class Coverage:
    """Counts each shadowed call's fate: Prometheus, the rollup, and in-process totals."""

    def __init__(
        self,
        metrics: ShadowMetrics,
        rollup: MinuteRollup,
        redact_fields: frozenset[str] = DEFAULT_REDACTED,
    ) -> None:
        self._metrics = metrics
        self._rollup = rollup
        self._redact_fields = redact_fields
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.skips: Counter[tuple[str, str, str]] = Counter()
        self.health: Counter[tuple[str, str, str]] = Counter()
        self._exemplars: dict[str, deque[HealthExemplar]] = {}

    def know(
        self,
        operations: Iterable[tuple[str, str]],
        reasons: Iterable[str],
        kinds: Iterable[str] = HEALTH_KINDS,
    ) -> None:
        """Start every (domain, operation) and each reason and kind at zero, so they export."""
        self._metrics.start_coverage(list(operations), list(reasons), list(kinds))

    def served(self, domain: str, operation: str) -> None:
        """One call served in ``shadow`` or ``live``."""
        with self._lock:
            self.calls[(domain, operation)] += 1
        self._metrics.served(domain, operation)
        self._rollup.count(domain, operation, "served")

    def skipped(self, domain: str, operation: str, reason: str) -> None:
        """One call that was not compared, and why."""
        with self._lock:
            self.skips[(domain, operation, reason)] += 1
        self._metrics.skip(domain, operation, reason)
        self._rollup.count(domain, operation, "skipped", reason)

    def unhealthy(self, exemplar: HealthExemplar) -> None:
        """One call whose shadow failed for its own health (``kind``): counted, kept, no group."""
        domain, operation, kind = exemplar.domain, exemplar.operation, exemplar.kind
        exemplar = dataclasses.replace(
            exemplar, inputs=redact(exemplar.inputs, self._redact_fields)
        )
        with self._lock:
            self.health[(domain, operation, kind)] += 1
            kept = self._exemplars.setdefault(domain, deque(maxlen=EXEMPLARS_KEPT))
            kept.append(exemplar)
        self._metrics.unhealthy(domain, operation, kind)
        self._rollup.count(domain, operation, "health", kind)

    def exemplars(self, domain: str | None = None) -> list[HealthExemplar]:
        """The latest health exemplars, newest first (of ``domain``, or of every domain)."""
        with self._lock:
            kept = [e for d, q in self._exemplars.items() if domain in (None, d) for e in q]
        return sorted(reversed(kept), key=lambda e: e.at, reverse=True)

    def skipped_by_reason(self) -> Counter[str]:
        """This process's skips by reason, every operation summed."""
        with self._lock:
            found: Counter[str] = Counter()
            for (_domain, _operation, reason), n in self.skips.items():
                found[reason] += n
        return found


def health_exemplar(
    operation: Any,
    kind: str,
    *,
    mode: str,
    shadow_path: str,
    elapsed_s: float,
    inputs: Mapping[str, Any] | None,
    error: BaseException | None,
) -> HealthExemplar:
    """The exemplar of one shadow health failure (``operation`` has ``domain`` and ``name``)."""
    return HealthExemplar(
        domain=operation.domain,
        operation=operation.name,
        kind=kind,
        mode=mode,
        shadow_path=shadow_path,
        elapsed_ms=elapsed_s * 1000.0,
        inputs=normalise(dict(inputs or {})),
        error=None if error is None else f"{type(error).__name__}: {error}",
        at=datetime.now(UTC),
    )
