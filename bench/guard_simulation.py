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
* divergence: the Wilson lower bound above the threshold (the rule's own condition);
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

``python -m bench.guard_simulation [hours [seconds]]`` writes the figures to
``docs/benchmarks.md``; with ``seconds`` it stops early when that time runs out and reports
the hours it reached.
"""

from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from app.guard_rules import Call, Judge, Thresholds, judge
from app.statistics import binomial_sf, walsh_rank_bounds

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
    budget_s: float = math.inf,
) -> SimulationResult:  # fmt: skip
    """Simulate ``hours`` of A/A looks at one domain in ``live``; see the module docstring."""
    limits = limits or Thresholds()
    rng = np.random.default_rng(seed)
    result = SimulationResult(hours, rate)
    started = time.perf_counter()
    k_table = np.array([walsh_rank_bounds(n, limits.test_tail) for n in
                        range(limits.latency_pairs + 1)], dtype=float)  # fmt: skip
    grids = _grids(pool, limits, rng)
    for hour in range(hours):
        if time.perf_counter() - started > budget_s:
            result.hours = hour  # the time ran out first: say how far it got
            break
        data = _hour(pool, rng, rate, error_rate, limits)
        looks = np.arange(3600) + _warm(limits) + LOOK_OFFSET
        step = limits.failure_limit
        flags, _ = _screen(data, looks[::step], limits, k_table, grids)
        _, catastrophes = _screen(data, looks, limits, k_table, grids, catastrophe_only=True)
        result.looks += len(looks)
        result.calls += len(data.at)
        _judge_candidates(data, looks, flags, catastrophes, limits, result, hour)
        _check_sample(data, looks, flags, catastrophes, limits, result, rng, checks_per_hour)
    result.seconds = time.perf_counter() - started
    return result


def _warm(limits: Thresholds) -> int:
    return math.ceil(limits.window_s) + 2


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
    data: _Hour, looks: np.ndarray, limits: Thresholds, k_table: np.ndarray, grids: _Grids,
    catastrophe_only: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per look: could a statistical rule fail; does the catastrophe rule fail."""
    hi = np.searchsorted(data.at, looks, side="right")
    af, lf = data.async_fault, data.legacy_fault
    ok = ~af & ~lf
    cum = {name: _cumsum(values) for name, values in {
        "af": af, "b": af & ~lf, "c": lf & ~af, "dv": data.diverged, "ok": ok}.items()}  # fmt: skip
    catastrophes = np.zeros(len(looks), dtype=bool)
    for part in (4, 2, 1):
        lo = np.searchsorted(data.at, looks - limits.fast_window_s / part, side="right")
        n, failed = hi - lo, cum["af"][hi] - cum["af"][lo]
        catastrophes |= (n >= limits.catastrophe_min_calls) & (
            failed >= limits.catastrophe_error_rate * n)  # fmt: skip
    flags = np.zeros(len(looks), dtype=bool)
    for span in () if catastrophe_only else {limits.short_window_s, limits.window_s}:
        lo = np.searchsorted(data.at, looks - span, side="right")
        n = hi - lo
        b, c_, dv = (cum[k][hi] - cum[k][lo] for k in ("b", "c", "dv"))
        answered = cum["ok"][hi] - cum["ok"][lo]
        errors = (b >= limits.min_exceedances) & (
            (b - c_) >= limits.max_error_rate * np.maximum(n, 1))  # fmt: skip
        divergence = (dv >= 1) & (
            _wilson_lower(dv, n, limits.test_tail) > limits.max_divergence_rate * (1 - 1e-9)
        )
        pairs = np.minimum(answered, limits.latency_pairs)
        latency = _latency_possible(
            data, ok, cum["ok"][hi], pairs, k_table, grids.ratio, limits)  # fmt: skip
        tail = _tail_possible(data, ok, lo, hi, answered, limits)
        flags |= errors | divergence | latency | tail
    return flags, catastrophes


@dataclass(frozen=True)
class _Grids:
    ratio: np.ndarray  # bin edges of ln(t_async / t_legacy) - ln(max ratio)


def _grids(pool: np.ndarray, limits: Thresholds, rng: np.random.Generator) -> _Grids:
    draws = np.log(rng.choice(pool, 200_000) / rng.choice(pool, 200_000))
    ratio = np.unique(np.quantile(draws - math.log(limits.max_latency_ratio),
                                  np.linspace(0.002, 0.998, 95)))  # fmt: skip
    return _Grids(ratio)


def _wilson_lower(events: np.ndarray, n: np.ndarray, tail_p: float) -> np.ndarray:
    """app.statistics.wilson_bounds' lower bound, for arrays (0 where n is 0)."""
    z = NormalDist().inv_cdf(1 - tail_p)
    size = np.maximum(n, 1).astype(float)
    p, z2 = events / size, z * z
    centre = (p + z2 / (2 * size)) / (1 + z2 / size)
    half = z * np.sqrt(p * (1 - p) / size + z2 / (4 * size * size)) / (1 + z2 / size)
    return np.where(n > 0, centre - half, 0.0)


def _cumsum(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(values, dtype=np.int64)))


def _latency_possible(
    data: _Hour, ok: np.ndarray, ordinal_hi: np.ndarray, pairs: np.ndarray,
    k_table: np.ndarray, edges: np.ndarray, limits: Thresholds,
) -> np.ndarray:  # fmt: skip
    """False where at least k Walsh averages surely lie at or below the threshold.

    The log ratios (less ln ratio) are binned; two values whose bins' upper edges sum to at
    most 0 surely average at or below 0, so those pairs are a lower bound on the count, and
    the interval's lower bound (the k-th smallest average) is then at or below the threshold.
    """
    ratios = np.maximum(data.new[ok], 1e-6) / np.maximum(data.legacy[ok], 1e-6)
    d = np.log(ratios) - math.log(limits.max_latency_ratio)
    return _sure_count_below_k(d, ordinal_hi, pairs, k_table, edges)


def _sure_count_below_k(
    d: np.ndarray, ordinal_hi: np.ndarray, pairs: np.ndarray, k_table: np.ndarray,
    edges: np.ndarray,
) -> np.ndarray:  # fmt: skip
    bins = np.searchsorted(edges, d, side="left")  # bin b: (edges[b-1], edges[b]]
    upper = np.append(edges, np.inf)
    order = np.argsort(bins, kind="stable")
    splits = np.searchsorted(bins[order], np.arange(len(upper) + 1))
    counts = np.empty((len(ordinal_hi), len(upper)), dtype=np.int64)
    for b in range(len(upper)):
        positions = order[splits[b] : splits[b + 1]]  # ordinals in bin b, ascending
        counts[:, b] = np.searchsorted(positions, ordinal_hi) - np.searchsorted(
            positions, ordinal_hi - pairs)  # fmt: skip
    sure_pair = (upper[:, None] + upper[None, :]) <= 0
    strict = np.triu(sure_pair, 1).astype(np.int64)
    cross = np.einsum("la,ab,lb->l", counts, strict, counts)
    diagonal = (np.diag(sure_pair) * counts * (counts + 1) // 2).sum(axis=1)
    k = k_table[pairs]
    return (k >= 1) & (cross + diagonal < k)


def _tail_possible(
    data: _Hour, ok: np.ndarray, lo: np.ndarray, hi: np.ndarray, answered: np.ndarray,
    limits: Thresholds,
) -> np.ndarray:  # fmt: skip
    """The tail rule's exceedances, exactly, and the Wilson lower bound every fail needs."""
    possible = np.zeros(len(lo), dtype=bool)
    tail_p = limits.test_tail
    z2 = NormalDist().inv_cdf(1 - tail_p) ** 2
    for j in np.flatnonzero(answered >= limits.min_tail_pairs):
        window = ok[lo[j] : hi[j]]
        legacy, new = data.legacy[lo[j] : hi[j]][window], data.new[lo[j] : hi[j]][window]
        n = len(legacy)
        index = math.ceil(0.99 * n) - 1
        line = float(np.partition(legacy, index)[index]) * limits.max_tail_ratio
        above = int((new > line).sum())
        if above < limits.min_exceedances:
            continue
        p = above / n
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = math.sqrt(z2) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        if centre - half <= 0.01 * (1 - 1e-9):
            continue
        only_async = int(((new > line) & (legacy <= line)).sum())
        only_legacy = int(((legacy > line) & (new <= line)).sum())
        possible[j] = binomial_sf(only_async, only_async + only_legacy, 0.5) <= tail_p * (1 + 1e-9)
    return possible


def _judge_candidates(
    data: _Hour, looks: np.ndarray, flags: np.ndarray, catastrophes: np.ndarray,
    limits: Thresholds, result: SimulationResult, hour: int,
) -> None:  # fmt: skip
    step = limits.failure_limit
    result.screened += int(flags.sum())
    failing = []
    for j in np.flatnonzero(flags) * step:  # flags are of every step-th look
        result.judged += 1
        if _look(Judge(lambda _d: limits), data, float(looks[j]), limits).failed:
            failing.append(int(j))  # a run of failing looks through j needs j to fail
    ranges = _merged([(max(0, j - step + 1), min(len(looks), j + step)) for j in failing])
    ranges += [(int(j), int(j) + 1) for j in np.flatnonzero(catastrophes)]
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
    step = limits.failure_limit
    for _ in range(rng.poisson(per_hour)):
        j = int(rng.integers(0, len(flags))) * step  # a screened look
        at = float(looks[j])
        lo = int(np.searchsorted(data.at, at - limits.window_s, side="right"))
        hi = int(np.searchsorted(data.at, at, side="right"))
        verdicts = judge("live", data.calls(lo, hi), at, limits)
        result.checked += 1
        failed = {v.rule for v in verdicts if v.failed}
        if (failed - {"catastrophe"} and not flags[j // step]) or (
            "catastrophe" in failed and not catastrophes[j]):  # fmt: skip
            result.missed += 1


def main(argv: list[str]) -> int:
    """Run the simulation and write its figures."""
    from bench.report import write_section

    hours = int(argv[0]) if argv else 10_000
    budget = float(argv[1]) if len(argv) > 1 else math.inf
    jobs = int(argv[2]) if len(argv) > 2 else 2
    pool = load_pool()
    with ProcessPoolExecutor(jobs) as pool_of_jobs:
        shares = [(hours // jobs + (i < hours % jobs), budget, i + 1) for i in range(jobs)]
        parts = list(pool_of_jobs.map(_part, shares))
    result = _combined(parts)
    print(json.dumps({**result.__dict__, "per_1000_hours": result.per_1000_hours}, indent=2))
    write_section("guard A/A simulation", _markdown(result, pool))
    return 0 if result.missed == 0 else 1


def _part(args: tuple[int, float, int]) -> SimulationResult:
    hours, budget, seed = args
    return simulate(load_pool(), hours, budget_s=budget, seed=seed)


def _combined(parts: list[SimulationResult]) -> SimulationResult:
    total = SimulationResult(sum(p.hours for p in parts), parts[0].rate)
    for part in parts:
        for name in ("looks", "calls", "screened", "judged", "failing_looks", "checked", "missed"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.rollbacks += part.rollbacks
        total.seconds = max(total.seconds, part.seconds)
    return total


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
        f"| random looks judged to check the screen | {result.checked:,} "
        f"(missed {result.missed}) |",
        f"| false rollbacks | {len(result.rollbacks)} |",
        f"| false rollbacks per 1,000 hours | {result.per_1000_hours:.3f} (target < 1) |",
        f"| run time | {result.seconds:,.0f} s (in parallel processes, each its own seed) |",
    ]
    if result.rollbacks:
        lines += ["", "False rollbacks:", ""] + [f"- {r}" for r in result.rollbacks[:20]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
