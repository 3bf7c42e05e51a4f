"""The guard's rules: what one look at a domain's recent calls concludes, rule by rule.

:func:`judge` is pure: the calls a domain made in one mode, the time of the look and the
thresholds in, one :class:`~app.verdicts.Verdict` per rule and span out. The live guard and
``dualpath guard replay`` both call it, through :class:`Judge`, which adds the repeated-looks
rule (``failure_limit`` failing looks in a row). docs/rollout.md ("The guard") gives the
design and its false-alarm arithmetic.

Rules, each ``pass``, ``inconclusive`` (not enough data: hold) or ``fail``:

* ``catastrophe`` (every mode, over the last ``fast_window_s``, its half or its quarter): at
  least ``catastrophe_min_calls`` calls of the new path and at least
  ``catastrophe_error_rate`` of them failed. Acts at once.
* ``errors`` (``shadow``/``live``: McNemar's exact test on the discordant compared pairs, new
  path alone failed against legacy alone failed, with the floor ``max_error_rate`` on the
  excess; a shadow timeout is no error here but counts toward the catastrophe rule;
  ``async``: the Wilson lower bound of the error rate above ``max_error_rate``).
* ``divergence`` (``live``): the Wilson lower bound of divergences per comparison above
  ``max_divergence_rate``.
* ``latency`` (``shadow``/``live``): the Hodges-Lehmann estimate of the median of
  ln(t_async / t_legacy) over pairs where both paths answered, with the interval that inverts
  Wilcoxon's signed-rank test; fails when the interval's lower bound is above
  ln(``max_latency_ratio``).
* ``tail`` (``shadow``/``live``, at least ``min_tail_pairs`` pairs): the async calls above a
  line, ``max_tail_ratio`` times legacy's p99, tested against legacy's own calls above it
  (exact sign test on the pairs where only one path is above), with at least
  ``min_exceedances`` of them and the Wilson lower bound of their share above the 1% that
  legacy's p99 lets through.

The latency and tail rules judge only the pairs timed while the event loop lagged at most
``max_loop_lag_ms`` (:func:`on_a_quiet_loop`); the pairs set aside, and the worst lag among
them, are in the verdict. With too few quiet pairs the rule is inconclusive.

Each statistical test runs at ``alpha / TESTS_PER_LOOK``, so a whole look errs with
probability at most ``alpha`` when nothing is wrong.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from app.statistics import (
    binomial_sf,
    hodges_lehmann,
    mcnemar_p,
    normal_quantile,
    signed_rank,
    walsh_rank_bounds,
    wilson_bounds,
)
from app.verdicts import Outcome, Verdict
from flags.model import Mode

__all__ = [
    "LATENCY_RULES",
    "TESTS_PER_LOOK",
    "Call",
    "Decision",
    "Judge",
    "Thresholds",
    "judge",
]

#: At most four tests (errors, divergence, latency, tail) over two spans in one look.
TESTS_PER_LOOK = 8
EXPECTED_TAIL = 0.01  # the share of calls above a p99, by definition
_FLOOR_S = 1e-6  # a duration below a microsecond is measured as one


#: The rules that judge latency: judged on a quiet loop only; advisory (recorded as dry runs)
#: where ``enforce_latency`` is off.
LATENCY_RULES = frozenset({"latency", "tail"})


class Call(NamedTuple):
    """One call as the guard counts it; in ``async`` mode ``legacy_s`` is 0 and nothing pairs."""

    at: float  # wall clock, seconds
    legacy_s: float
    async_s: float
    legacy_fault: bool
    async_fault: bool
    compared: bool  # both paths observed within the shadow timeout
    diverged: bool
    loop_lag_s: float = 0.0  # the event loop's lag as the call ended (app.loop_lag)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the guard rolls a domain back; see the module docstring and docs/rollout.md."""

    max_divergence_rate: float = 0.002
    max_error_rate: float = 0.01
    max_latency_ratio: float = 1.5
    max_tail_ratio: float = 3.0
    catastrophe_error_rate: float = 0.5
    catastrophe_min_calls: int = 20
    min_tail_pairs: int = 300
    min_exceedances: int = 5
    latency_pairs: int = 1000
    alpha: float = 1e-7
    failure_limit: int = 3
    window_s: float = 60.0
    short_window_s: float = 10.0
    fast_window_s: float = 2.0
    max_loop_lag_ms: float = 10.0  # pairs timed on a loop lagging more are not judged for latency
    dry_run: bool = False
    enforce_latency: bool = True  # latency and tail failures act; else recorded as dry runs

    def with_overrides(self, overrides: Mapping[str, float | bool]) -> Thresholds:
        """These thresholds with some fields replaced (already validated)."""
        return replace(self, **overrides)  # type: ignore[arg-type]

    def acts_on(self, verdict: Verdict) -> bool:
        """Whether a rollback decided by ``verdict`` is made, rather than recorded as a dry run."""
        if self.dry_run:
            return False
        return self.enforce_latency or verdict.rule not in LATENCY_RULES

    @property
    def test_tail(self) -> float:
        """The error probability of one test when nothing is wrong."""
        return self.alpha / TESTS_PER_LOOK


def judge(mode: Mode, calls: Sequence[Call], now: float, limits: Thresholds) -> list[Verdict]:
    """Every rule's verdict on ``calls`` (sorted by time) of one domain in ``mode`` at ``now``."""
    times = [c.at for c in calls]
    verdicts = [_catastrophe(calls, times, now, limits)]
    cache: dict[int, Verdict] = {}
    for span in sorted({limits.short_window_s, limits.window_s}):
        part = calls[bisect.bisect_right(times, now - span) :]
        verdicts.extend(_span_rules(mode, part, span, limits, cache))
    return verdicts


def _span_rules(
    mode: Mode, part: Sequence[Call], span: float, limits: Thresholds, cache: dict[int, Verdict]
) -> list[Verdict]:
    if mode == "async":
        return [_spanned(async_errors(part, limits), span)]
    found = [paired_errors(part, limits)]
    if mode == "live":
        found.append(divergence(part, limits))
    answered = [c for c in part if c.compared and not c.legacy_fault and not c.async_fault]
    quiet = on_a_quiet_loop(answered, limits)
    recent = quiet[-limits.latency_pairs :]
    if len(recent) not in cache:  # both spans hold the same last pairs when traffic is high
        cache[len(recent)] = latency(recent, limits)
    found += [cache[len(recent)], tail(quiet, limits)]
    lagged = _set_aside(answered, quiet, limits)
    return [_spanned(v, span, lagged if v.rule in LATENCY_RULES else None) for v in found]


def on_a_quiet_loop(pairs: Sequence[Call], limits: Thresholds) -> list[Call]:
    """The pairs timed while the event loop lagged at most ``max_loop_lag_ms``.

    On a saturated loop an async call waits for several turns where a pool thread's call
    waits for one hop back, so its ratio measures the scheduler, not the path.
    """
    most = limits.max_loop_lag_ms / 1000
    return [c for c in pairs if c.loop_lag_s <= most]


def _set_aside(
    answered: Sequence[Call], quiet: Sequence[Call], limits: Thresholds
) -> dict[str, Any]:
    lagged = [c.loop_lag_s for c in answered if c.loop_lag_s > limits.max_loop_lag_ms / 1000]
    return {
        "lagged_pairs": len(lagged),
        "quiet_pairs": len(quiet),
        "max_loop_lag_ms": limits.max_loop_lag_ms,
        "worst_loop_lag_ms": round(max(lagged, default=0.0) * 1000, 3),
    }


def _spanned(verdict: Verdict, span: float, lag: dict[str, Any] | None = None) -> Verdict:
    extra = {**verdict.extra, "span_s": span, **(lag or {})}
    detail = _join(f"over {span:g} s", verdict.detail, _lag_note(lag))
    return replace(verdict, detail=detail, extra=extra)


def _lag_note(lag: dict[str, Any] | None) -> str:
    if not lag or not lag["lagged_pairs"]:
        return ""
    return (
        f"{lag['lagged_pairs']} pairs set aside, timed while the event loop lagged more than "
        f"{lag['max_loop_lag_ms']:g} ms (worst {lag['worst_loop_lag_ms']:.3g} ms)"
    )


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _rate_verdict(
    rule: str, events: int, n: int, limits: Thresholds, threshold: float, *, key: str,
    tail_p: float, fail: bool, detail: str = "", extra: dict[str, Any] | None = None,
) -> Verdict:  # fmt: skip
    """A verdict on a rate: fail as decided, pass when its upper bound is under ``threshold``."""
    low, high = wilson_bounds(events, n, tail_p)
    if fail:
        outcome, needed = Outcome.FAIL, None
    elif n and high < threshold:
        outcome, needed = Outcome.PASS, None
    else:
        outcome, needed = Outcome.INCONCLUSIVE, _needed_for_pass(events, n, threshold, tail_p)
    return Verdict(
        rule, outcome, {key: n}, events / n if n else None, (low, high) if n else None,
        threshold, confidence=1 - tail_p, needed=needed, detail=detail, extra=extra or {},
    )  # fmt: skip


def _needed_for_pass(events: int, n: int, threshold: float, tail_p: float) -> int | None:
    """More calls without an event that bring the upper bound under ``threshold``, if any do."""
    if events / max(n, 1) >= threshold:
        return None
    z2 = normal_quantile(tail_p) ** 2
    # The upper bound with ``events`` fixed falls below the threshold near this n.
    target = math.ceil((z2 * (1 - threshold) + events * (1 + 2 * z2)) / threshold)
    return max(1, target - n)


def _catastrophe(
    calls: Sequence[Call], times: Sequence[float], now: float, limits: Thresholds
) -> Verdict:
    """The catastrophe rule over the last quarter, half and whole of ``fast_window_s``.

    The shorter spans see a sudden failure before older, healthy calls stop outweighing it.
    """
    found = None
    for part in (4, 2, 1):
        span = limits.fast_window_s / part
        found = catastrophe(calls[bisect.bisect_right(times, now - span) :], span, limits)
        if found.failed:
            break
    assert found is not None
    return found


def catastrophe(calls: Sequence[Call], span: float, limits: Thresholds) -> Verdict:
    """Most of the new path's calls failing in the last ``span`` seconds: acts at once."""
    n = len(calls)
    failed = sum(c.async_fault for c in calls)
    rate = failed / n if n else None
    threshold = limits.catastrophe_error_rate
    if n < limits.catastrophe_min_calls:
        outcome, needed = Outcome.INCONCLUSIVE, limits.catastrophe_min_calls - n
    else:
        outcome = Outcome.FAIL if failed >= threshold * n else Outcome.PASS
        needed = None
    return Verdict(
        "catastrophe", outcome, {"async": n}, rate, wilson_bounds(failed, n, 0.025) if n else None,
        threshold, needed=needed, detail=f"over {span:g} s; acts at once",
        extra={"errors": failed, "span_s": span},
    )  # fmt: skip


def paired_errors(calls: Sequence[Call], limits: Thresholds) -> Verdict:
    """McNemar on the discordant pairs, with the floor ``max_error_rate`` on the excess's bound.

    Only compared calls count: a shadow cut short by its timeout or its write hold did not
    fail, it was not waited for (a saturated machine does that to either path); timeouts
    count toward the catastrophe rule instead.
    """
    calls = [c for c in calls if c.compared]
    n = len(calls)
    b = sum(c.async_fault and not c.legacy_fault for c in calls)
    c_ = sum(c.legacy_fault and not c.async_fault for c in calls)
    p = mcnemar_p(b, c_)
    excess = (b - c_) / n if n else 0.0
    # Material as well as significant: the excess's lower bound (b's Wilson bound, less the
    # pairs where legacy alone failed) clears the floor, not just its estimate.
    least = wilson_bounds(b, n, limits.test_tail)[0] - c_ / n if n else 0.0
    fail = b >= limits.min_exceedances and p <= limits.test_tail and least > limits.max_error_rate
    detail = f"McNemar: async alone failed {b}, legacy alone {c_}, p {p:.3g}; excess {excess:.2%}"
    extra = {"async_only": b, "legacy_only": c_, "p": p, "excess": excess, "excess_low": least}
    return _rate_verdict(
        "errors", b, n, limits, limits.max_error_rate, key="pairs", tail_p=limits.test_tail,
        fail=fail, detail=detail, extra=extra,
    )  # fmt: skip


def async_errors(calls: Sequence[Call], limits: Thresholds) -> Verdict:
    """``async`` mode, nothing to pair: the error rate's Wilson lower bound against the floor."""
    n, failed = len(calls), sum(c.async_fault for c in calls)
    low = wilson_bounds(failed, n, limits.test_tail)[0]
    fail = failed >= limits.min_exceedances and low > limits.max_error_rate
    return _rate_verdict(
        "errors", failed, n, limits, limits.max_error_rate, key="async",
        tail_p=limits.test_tail, fail=fail, detail="Wilson bound on the async error rate",
    )  # fmt: skip


def divergence(calls: Sequence[Call], limits: Thresholds) -> Verdict:
    """``live``: divergences per comparison, the Wilson lower bound against the threshold."""
    compared = [c for c in calls if c.compared]
    n, found = len(compared), sum(c.diverged for c in compared)
    low = wilson_bounds(found, n, limits.test_tail)[0]
    return _rate_verdict(
        "divergence", found, n, limits, limits.max_divergence_rate, key="comparisons",
        tail_p=limits.test_tail, fail=found > 0 and low > limits.max_divergence_rate,
    )  # fmt: skip


def latency(pairs: Sequence[Call], limits: Thresholds) -> Verdict:
    """Hodges-Lehmann on ln(t_async / t_legacy) with the signed-rank interval, as ratios."""
    n, threshold = len(pairs), limits.max_latency_ratio
    tail_p = limits.test_tail
    if walsh_rank_bounds(n, tail_p) < 1:
        return Verdict(
            "latency", Outcome.INCONCLUSIVE, {"pairs": n}, None, None, threshold,
            confidence=1 - tail_p, needed=_pairs_for_interval(tail_p) - n,
            detail="median ratio t_async / t_legacy",
        )  # fmt: skip
    logs = [math.log(max(c.async_s, _FLOOR_S) / max(c.legacy_s, _FLOOR_S)) for c in pairs]
    hl = hodges_lehmann(logs, tail_p)
    assert hl.lower is not None and hl.upper is not None
    low, high = math.exp(hl.lower), math.exp(hl.upper)
    outcome = Outcome.FAIL if low > threshold else Outcome.PASS
    if outcome is Outcome.PASS and high >= threshold:
        outcome = Outcome.INCONCLUSIVE
    test = signed_rank(logs, math.log(threshold))
    return Verdict(
        "latency", outcome, {"pairs": n}, math.exp(hl.estimate), (low, high), threshold,
        confidence=1 - tail_p, detail=f"median ratio t_async / t_legacy; signed-rank z "
        f"{test.z:.2f} against the threshold", extra={"z": test.z, "p": test.p_greater},
    )  # fmt: skip


def _pairs_for_interval(tail_p: float) -> int:
    n = 1
    while walsh_rank_bounds(n, tail_p) < 1:
        n += 1
    return n


def tail(pairs: Sequence[Call], limits: Thresholds) -> Verdict:
    """Async calls above ``max_tail_ratio`` x legacy's p99, against the 1% expected."""
    n = len(pairs)
    tail_p = limits.test_tail
    if n < limits.min_tail_pairs:
        return Verdict(
            "tail", Outcome.INCONCLUSIVE, {"pairs": n}, None, None, EXPECTED_TAIL,
            confidence=1 - tail_p, needed=limits.min_tail_pairs - n,
            detail=f"async calls above {limits.max_tail_ratio:g} x legacy's p99",
        )  # fmt: skip
    legacy = sorted(c.legacy_s for c in pairs)
    p99 = legacy[math.ceil(0.99 * n) - 1]
    line = p99 * limits.max_tail_ratio
    above = sum(c.async_s > line for c in pairs)
    only_async = sum(c.async_s > line >= c.legacy_s for c in pairs)
    only_legacy = sum(c.legacy_s > line >= c.async_s for c in pairs)
    p = binomial_sf(only_async, only_async + only_legacy, 0.5)
    low, high = wilson_bounds(above, n, tail_p)
    fail = above >= limits.min_exceedances and p <= tail_p and low > EXPECTED_TAIL
    return Verdict(
        "tail", Outcome.FAIL if fail else Outcome.PASS, {"pairs": n}, above / n, (low, high),
        EXPECTED_TAIL, confidence=1 - tail_p,
        detail=f"{above} async calls above {limits.max_tail_ratio:g} x legacy's p99 "
        f"{p99 * 1000:.3g} ms; sign test {only_async} against {only_legacy}, p {p:.3g}",
        extra={"exceedances": above, "p99_ms": p99 * 1000, "line_ms": line * 1000, "p": p},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """One look at one domain: every verdict, the failing streak, and whether to roll back."""

    at: float
    domain: str
    mode: Mode
    verdicts: tuple[Verdict, ...]
    streak: int
    rollback: Verdict | None = None  # the verdict that decided a rollback

    @property
    def failed(self) -> tuple[Verdict, ...]:
        """The verdicts that failed in this look."""
        return tuple(v for v in self.verdicts if v.failed)

    def figures(self) -> dict[str, Any]:
        """The evidence as plain data: the deciding verdict first, then every other one."""
        decided = self.rollback.as_dict() if self.rollback is not None else None
        return {
            "decided_by": decided,
            "streak": self.streak,
            "looked_at": self.at,
            "verdicts": [v.as_dict() for v in self.verdicts],
        }


@dataclass
class Judge:
    """The rules plus repeated looks: a rollback needs ``failure_limit`` failing looks in a row.

    The catastrophe rule is the exception: it rolls back on the look that sees it. The live
    guard and the replay both decide through this class, so they decide alike.
    """

    limits_for: Callable[[str], Thresholds]
    streaks: dict[tuple[str, str], int] = field(default_factory=dict)

    def look(self, domain: str, mode: Mode, calls: Sequence[Call], now: float) -> Decision:
        """Judge one look; a Decision whose ``rollback`` is set when the guard should act."""
        limits = self.limits_for(domain)
        verdicts = tuple(judge(mode, calls, now, limits))
        key = (domain, mode)
        failed = [v for v in verdicts if v.failed]
        streak = self.streaks.get(key, 0) + 1 if failed else 0
        self.streaks[key] = streak
        decided = next((v for v in failed if v.rule == "catastrophe"), None)
        if decided is None and streak >= limits.failure_limit:
            decided = failed[0]
        if decided is not None:
            self.streaks[key] = 0
        return Decision(now, domain, mode, verdicts, streak, decided)

    def reset(self, domain: str, mode: Mode) -> None:
        """Forget the streak of ``domain`` in ``mode`` (after a rollback out of it)."""
        self.streaks.pop((domain, mode), None)
