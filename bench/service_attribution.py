"""What attributing each call to its calling service costs, per call, on a path with no I/O.

Two routers over the same in-memory path and the same compiled flags, one plain and one with
the attribution wrappers installed (``routing.attribution`` counting into ``ServiceCounts``),
are called in alternating batches; each case reports the median CPU microseconds per call of
both, the median of the per-pair differences (the overhead) and the ratio of the medians.
The goal: at most 1 µs per call.

Cases: the async router called inside ``calling_service(...)``, the same with no service
(``unattributed``), a ``for_service`` view (which also sets the service for what the call
starts), and the sync facade in legacy mode inside ``calling_service(...)``.

Standalone: ``python -m bench.service_attribution`` (no database needed).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.router_overhead import flags_for
from routing import Operation, OperationRegistry, PersistenceRouter
from routing.attribution import attribute
from routing.services import ServiceNames, calling_service
from shadow.service_counts import ServiceCounts

BENCH = "service attribution"
GOAL = "<= 1 µs"


class _Null:
    """An in-memory path: both names, no I/O."""

    def get(self, key: str) -> str:
        return key

    async def get_async(self, key: str) -> str:
        return key


def routers(mode: str) -> tuple[PersistenceRouter, PersistenceRouter, ServiceCounts]:
    """A plain router and an attributed one, both in ``mode`` for every call."""
    null = _Null()
    registry = OperationRegistry([Operation("player", "get_async", "read", "key", "get")])

    def make() -> PersistenceRouter:
        return PersistenceRouter(registry, legacy=null, async_=null, flags=flags_for(mode))  # type: ignore[arg-type]

    counts = ServiceCounts()
    attributed = make()
    attribute(attributed, counts.record, ServiceNames(["combat_service"], cap=10))
    return make(), attributed, counts


def async_cpu_us(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """CPU microseconds per awaited call, on a fresh loop."""

    async def loop() -> float:
        begun = time.process_time()
        for _ in range(calls):
            await call()
        return (time.process_time() - begun) / calls * 1e6

    return asyncio.run(loop())


def sync_cpu_us(call: Callable[[], object], calls: int) -> float:
    """CPU microseconds per blocking call."""
    begun = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - begun) / calls * 1e6


def paired(
    base: Callable[[], float],
    attributed: Callable[[], float],
    rounds: int,
    between: Callable[[], object] = lambda: None,
) -> dict[str, Any]:
    """Alternating batches; medians, the median per-pair difference, and the ratio.

    ``between`` runs after each pair, untimed (the fold of what the batch recorded).
    """
    bases, withs, diffs = [], [], []
    for index in range(rounds):
        first, second = (base, attributed) if index % 2 == 0 else (attributed, base)
        a, b = first(), second()
        between()
        without, with_ = (a, b) if index % 2 == 0 else (b, a)
        bases.append(without)
        withs.append(with_)
        diffs.append(with_ - without)
    without_us, with_us = statistics.median(bases), statistics.median(withs)
    return {
        "without_us": without_us,
        "with_us": with_us,
        "overhead_us": statistics.median(diffs),
        "per-pair range": f"{min(diffs):.2f} .. {max(diffs):.2f}",
        "ratio": with_us / without_us,
        "goal": GOAL,
    }


def measure(calls: int = 50_000, rounds: int = 9) -> list[dict[str, Any]]:
    """Every case, as rows for the bench report."""
    plain, attributed, counts = routers("async")
    view, plain_view = attributed.for_service("combat_service"), plain.for_service("combat_service")

    def as_service(router: PersistenceRouter) -> Callable[[], float]:
        def run() -> float:
            with calling_service("combat_service"):
                return async_cpu_us(lambda: router.get_async("k"), calls)

        return run

    rows = [
        ("async router, inside calling_service", as_service(plain), as_service(attributed)),
        (
            "async router, no service (unattributed)",
            lambda: async_cpu_us(lambda: plain.get_async("k"), calls),
            lambda: async_cpu_us(lambda: attributed.get_async("k"), calls),
        ),
        (
            "for_service view",
            lambda: async_cpu_us(lambda: plain_view.get_async("k"), calls),
            lambda: async_cpu_us(lambda: view.get_async("k"), calls),
        ),
    ]
    fold = counts.fold
    out = [{"bench": BENCH, "case": name, **paired(a, b, rounds, fold)} for name, a, b in rows]
    plain_sync, attributed_sync, sync_counts = routers("legacy")

    def sync_as_service(router: PersistenceRouter) -> Callable[[], float]:
        facade = router.sync

        def run() -> float:
            with calling_service("combat_service"):
                return sync_cpu_us(lambda: facade.get("k"), calls)

        return run

    case = "sync facade, legacy mode, inside calling_service"
    out.append(
        {"bench": BENCH, "case": case, **paired(sync_as_service(plain_sync),
                                                 sync_as_service(attributed_sync), rounds,
                                                 sync_counts.fold)}
    )  # fmt: skip
    out.append(fold_cost(attributed, counts, calls))
    for router in (plain, attributed, plain_sync, attributed_sync):
        router.sync.close()
    assert sum(c.calls for c in counts.totals().values()) > 0  # the wrappers did count
    return out


def fold_cost(router: PersistenceRouter, counts: ServiceCounts, calls: int) -> dict[str, Any]:
    """What folding the recorded calls into the counts costs per call (off the caller's path)."""
    samples = []
    for _ in range(5):
        with calling_service("combat_service"):
            async_cpu_us(lambda: router.get_async("k"), calls)
        begun = time.process_time()
        counts.fold()
        samples.append((time.process_time() - begun) / calls * 1e6)
    return {
        "bench": BENCH,
        "case": "fold into the counts, per call (writer, off the caller's path)",
        "with_us": statistics.median(samples),
        "goal": "for scale",
    }


def run() -> list[dict[str, Any]]:
    """The rows for ``make bench`` (no database needed)."""
    return measure()


def main() -> int:
    """``python -m bench.service_attribution``: print the rows as a table."""
    from bench.report import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
