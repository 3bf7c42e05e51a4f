"""Measuring helpers: closed-loop throughput at a fixed number in flight, and latency medians."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """Throughput and latency of one case."""

    ops: int
    seconds: float
    median_us: float
    p99_us: float

    @property
    def ops_per_s(self) -> float:
        """Completed operations per second of wall time."""
        return self.ops / self.seconds


async def closed_loop(
    op: Callable[[int], Awaitable[object]],
    *,
    in_flight: int,
    seconds: float,
    warmup: float = 0.3,
) -> Measurement:
    """Run ``op(i)`` from ``in_flight`` workers for ``seconds`` after a warm-up."""
    await _run(op, in_flight, warmup, [])
    latencies: list[float] = []
    started = time.perf_counter()
    await _run(op, in_flight, seconds, latencies)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Measurement(
        ops=len(latencies),
        seconds=elapsed,
        median_us=statistics.median(latencies) * 1e6,
        p99_us=latencies[int(len(latencies) * 0.99) - 1] * 1e6,
    )


async def _run(
    op: Callable[[int], Awaitable[object]], in_flight: int, seconds: float, out: list[float]
) -> None:
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**12))

    async def worker() -> None:
        clock = time.perf_counter
        while clock() < deadline:
            begun = clock()
            await op(next(counter))
            out.append(clock() - begun)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def cpu_us_per_call(fn: Callable[[], object], calls: int = 20000, repeats: int = 5) -> float:
    """Median CPU microseconds of a synchronous call, over ``repeats`` batches."""
    samples = []
    for _ in range(repeats):
        begun = time.process_time()
        for _ in range(calls):
            fn()
        samples.append((time.process_time() - begun) / calls * 1e6)
    return statistics.median(samples)
