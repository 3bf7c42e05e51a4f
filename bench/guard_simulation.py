"""A/A simulation of the guard: 10,000 hours of looks, both arms drawn from the same real latencies.

Each simulated hour is a fresh stream of paired calls (Poisson, ``rate`` a second, plus a
minute of warm-up so the first look sees a full window). Both arms draw their durations,
independently, from one pool of latencies recorded by ``bench.guard_soak`` on this machine
(both paths' compared calls, spikes included); each path fails a call with the same
probability and a call diverges with a probability a quarter of the guard's threshold. The
guard looks once a second, as it does live.

Every look that could fail is judged by the guard's own decision code
(:class:`app.guard_rules.Judge`, the code the live guard and the replay run). Which looks could
fail is found with conditions every failing verdict must meet, computed for all looks at once
with NumPy:

* catastrophe: its exact condition (>= 50% async errors over >= 20 calls in a span);
* errors: at least ``min_exceedances`` async-only failures and an excess at the floor;
* divergence: the point estimate above the threshold (the Wilson lower bound is below it);
* latency: with m of the n log ratios above ln(max ratio), at least (n-m)(n-m+1)/2 Walsh
  averages lie at or below it, and the lower bound (the k-th smallest) is above it only if
  that is less than k;
* tail: legacy's p99 is at least a constant c when few enough legacy calls are below c, and
  then the exceedances are at most the async calls above ratio x c; without that bound the
  look is judged.

A rollback needs ``failure_limit`` failing looks in a row (catastrophes aside), and any such
run holds a look whose index is a multiple of ``failure_limit``: only those looks are screened,
and where one passes, the looks around it are judged in order by a ``Judge``. As a check of
the screen, a random sample of looks is judged whatever the screen says; a failing verdict the
screen did not flag would be reported. A false rollback does not reset the simulated window
(the live guard's does), which can only add rollbacks.

``python -m bench.guard_simulation [hours]`` writes the figures to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.guard_rules import Call, Judge, Thresholds, judge
from app.statistics import walsh_rank_bounds

__all__ = ["SimulationResult", "simulate"]

SAMPLES = Path(__file__).resolve().parent / "data" / "guard_latencies.json"
LOOK_OFFSET = 0.37  # looks fall at an arbitrary point of the second


@dataclass
class SimulationResult:
    """How many hours, looks and calls were simulated, and what the guard decided."""

    hours: int
    rate: float
    looks: int = 0
    calls: int = 0
    screened: int = 0
    judged: int = 0
    rollbacks: list[str] = field(default_factory=list)
    failing_looks: int = 0
    checked: int = 0
    missed: int = 0
    seconds: float = 0.0

    @property
    def per_1000_hours(self) -> float:
        """False rollbacks per 1,000 simulated hours."""
        return 1000 * len(self.rollbacks) / self.hours


@dataclass
class _Hour:
    at: np.ndarray
    legacy: np.ndarray
    new: np.ndarray
    legacy_fault: np.ndarray
    async_fault: np.ndarray
    diverged: np.ndarray

    def calls(self, start: int, end: int) -> list[Call]:
        return [
            Call(a, ls, as_, lf, af, True, dv)
            for a, ls, as_, lf, af, dv in zip(
                self.at[start:end].tolist(), self.legacy[start:end].tolist(),
                self.new[start:end].tolist(), self.legacy_fault[start:end].tolist(),
                self.async_fault[start:end].tolist(), self.diverged[start:end].tolist(),
                strict=True,
            )
        ]  # fmt: skip


def load_pool() -> np.ndarray:
    """The recorded latencies of both paths, as one pool."""
    data = json.loads(SAMPLES.read_text())
    return np.array(data["legacy_s"] + data["async_s"], dtype=float)


def simulate(
    pool: np.ndarray, hours: int, *, rate: float = 50.0, error_rate: float = 0.001,
    limits: Thresholds | None = None, seed: int = 1, checks_per_hour: float = 0.2,
) -> SimulationResult:  # fmt: skip
    """Simulate ``hours`` of A/A looks at one domain in ``live``; see the module docstring."""
    limits = limits or Thresholds()
    rng = np.random.default_rng(seed)
    result = SimulationResult(hours, rate)
    started = time.perf_counter()
    k_table = np.array([walsh_rank_bounds(n, limits.test_tail) for n in
                        range(limits.latency_pairs + 1)], dtype=float)  # fmt: skip
    c = float(np.quantile(pool, 0.985))
    for hour in range(hours):
        data = _hour(pool, rng, rate, error_rate, limits)
        looks = np.arange(3600) + _warm(limits) + LOOK_OFFSET
        flags, catastrophes = _screen(data, looks, limits, k_table, c)
        result.looks += len(looks)
        result.calls += len(data.at)
        _judge_candidates(data, looks, flags, catastrophes, limits, result, hour)
        _check_sample(data, looks, flags, catastrophes, limits, result, rng, checks_per_hour)
    result.seconds = time.perf_counter() - started
    return result


def _warm(limits: Thresholds) -> int:
    return int(math.ceil(limits.window_s)) + 2


def _hour(
    pool: np.ndarray, rng: np.random.Generator, rate: float, error_rate: float,
    limits: Thresholds,
) -> _Hour:  # fmt: skip
    seconds = _warm(limits) + 3600
    counts = rng.poisson(rate, seconds)
    n = int(counts.sum())
    starts = np.cumsum(counts) - counts
    position = np.arange(n) - np.repeat(starts, counts)
    at = np.repeat(np.arange(seconds), counts) + (position + 0.5) / np.repeat(counts, counts)
    return _Hour(
        at.astype(float),
        pool[rng.integers(0, len(pool), n)],
        pool[rng.integers(0, len(pool), n)],
        rng.random(n) < error_rate,
        rng.random(n) < error_rate,
        rng.random(n) < limits.max_divergence_rate / 4,
    )


def _screen(
    data: _Hour, looks: np.ndarray, limits: Thresholds, k_table: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per look: could a statistical rule fail; does the catastrophe rule fail."""
    hi = np.searchsorted(data.at, looks, side="right")
    af, lf = data.async_fault, data.legacy_fault
    ok = ~af & ~lf
    cum = {name: np.concatenate(([0], np.cumsum(values))) for name, values in {
        "af": af, "b": af & ~lf, "c": lf & ~af, "dv": data.diverged, "ok": ok,
        "low": ok & (data.legacy < c),
        "over": ok & (data.new > limits.max_latency_ratio * c),
    }.items()}  # fmt: skip
    catastrophes = np.zeros(len(looks), dtype=bool)
    for part in (4, 2, 1):
        lo = np.searchsorted(data.at, looks - limits.fast_window_s / part, side="right")
        n, failed = hi - lo, cum["af"][hi] - cum["af"][lo]
        catastrophes |= (n >= limits.catastrophe_min_calls) & (
            failed >= limits.catastrophe_error_rate * n)  # fmt: skip
    # Latency: the log ratios above the threshold, counted over the successful pairs in order.
    above = ok & (np.log(np.maximum(data.new, 1e-6) / np.maximum(data.legacy, 1e-6))
                  > math.log(limits.max_latency_ratio))  # fmt: skip
    above_ok = np.concatenate(([0], np.cumsum(above[ok])))
    flags = np.zeros(len(looks), dtype=bool)
    for span in {limits.short_window_s, limits.window_s}:
        lo = np.searchsorted(data.at, looks - span, side="right")
        n = hi - lo

        def count(name: str, lo: np.ndarray = lo) -> np.ndarray:
            return cum[name][hi] - cum[name][lo]

        b, c_, dv, answered = count("b"), count("c"), count("dv"), count("ok")
        errors = (b >= limits.min_exceedances) & (
            (b - c_) >= limits.max_error_rate * np.maximum(n, 1))  # fmt: skip
        divergence = (dv >= 1) & (dv > limits.max_divergence_rate * n)
        pairs = np.minimum(answered, limits.latency_pairs)
        ordinal_hi = cum["ok"][hi]
        m = above_ok[ordinal_hi] - above_ok[ordinal_hi - pairs]
        k = k_table[pairs]
        rest = pairs - m
        latency = (k >= 1) & (rest * (rest + 1) / 2 < k)
        bounded = count("low") <= np.ceil(0.99 * answered) - 1
        over = count("over")
        tail = (answered >= limits.min_tail_pairs) & (
            ~bounded | ((over >= limits.min_exceedances) & (over > 0.01 * answered)))  # fmt: skip
        flags |= errors | divergence | latency | tail
    return flags, catastrophes


def _judge_candidates(
    data: _Hour, looks: np.ndarray, flags: np.ndarray, catastrophes: np.ndarray,
    limits: Thresholds, result: SimulationResult, hour: int,
) -> None:  # fmt: skip
    step = limits.failure_limit
    stride = np.zeros(len(looks), dtype=bool)
    stride[::step] = True
    candidates = np.flatnonzero(flags & stride)
    result.screened += int(flags.sum())
    ranges = _merged([(max(0, j - step + 1), min(len(looks), j + step)) for j in candidates])
    for j in np.flatnonzero(catastrophes):
        ranges.append((int(j), int(j) + 1))
    for start, end in ranges:
        judge_ = Judge(lambda _d: limits)
        for j in range(start, end):
            decision = _look(judge_, data, float(looks[j]), limits)
            result.judged += 1
            result.failing_looks += bool(decision.failed)
            if decision.rollback is not None:
                rule = decision.rollback.explain()
                result.rollbacks.append(f"hour {hour}, look {j}: {rule}")


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _look(judge_: Judge, data: _Hour, at: float, limits: Thresholds) -> Any:
    lo = int(np.searchsorted(data.at, at - limits.window_s, side="right"))
    hi = int(np.searchsorted(data.at, at, side="right"))
    return judge_.look("player", "live", data.calls(lo, hi), at)


def _check_sample(
    data: _Hour, looks: np.ndarray, flags: np.ndarray, catastrophes: np.ndarray,
    limits: Thresholds, result: SimulationResult, rng: np.random.Generator, per_hour: float,
) -> None:  # fmt: skip
    for _ in range(rng.poisson(per_hour)):
        j = int(rng.integers(0, len(looks)))
        at = float(looks[j])
        lo = int(np.searchsorted(data.at, at - limits.window_s, side="right"))
        hi = int(np.searchsorted(data.at, at, side="right"))
        verdicts = judge("live", data.calls(lo, hi), at, limits)
        result.checked += 1
        failed = {v.rule for v in verdicts if v.failed}
        if (failed - {"catastrophe"} and not flags[j]) or (
            "catastrophe" in failed and not catastrophes[j]):  # fmt: skip
            result.missed += 1


def main(argv: list[str]) -> int:
    """Run the simulation and write its figures."""
    from bench.report import write_section

    hours = int(argv[0]) if argv else 10_000
    pool = load_pool()
    result = simulate(pool, hours)
    print(json.dumps({**result.__dict__, "per_1000_hours": result.per_1000_hours}, indent=2))
    write_section("guard A/A simulation", _markdown(result, pool))
    return 0 if result.missed == 0 else 1


def _markdown(result: SimulationResult, pool: np.ndarray) -> str:
    p50, p99 = (float(np.quantile(pool, q)) * 1000 for q in (0.5, 0.99))
    lines = [
        f"`python -m bench.guard_simulation {result.hours}`: {result.hours:,} simulated hours "
        f"of one domain in `live`, {result.rate:g} paired calls a second, one look a second. "
        f"Both arms draw from the same {len(pool):,} latencies recorded by the A/A soak "
        f"(p50 {p50:.2f} ms, p99 {p99:.1f} ms); each path fails 0.1% of calls, 0.05% diverge. "
        "The looks that could fail are judged by the guard's own `Judge` (see the module "
        "docstring for how they are found).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| simulated hours | {result.hours:,} |",
        f"| looks | {result.looks:,} |",
        f"| simulated calls | {result.calls:,} |",
        f"| looks that could fail (screen) | {result.screened:,} |",
        f"| looks judged by the decision code | {result.judged:,} |",
        f"| of which failing | {result.failing_looks:,} |",
        f"| random looks judged to check the screen | {result.checked:,} (missed {result.missed}) |",
        f"| false rollbacks | {len(result.rollbacks)} |",
        f"| false rollbacks per 1,000 hours | {result.per_1000_hours:.3f} (target < 1) |",
        f"| run time | {result.seconds:,.0f} s |",
    ]
    if result.rollbacks:
        lines += ["", "False rollbacks:", ""] + [f"- {r}" for r in result.rollbacks[:20]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
