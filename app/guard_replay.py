"""Replay: re-judge a recorded stretch of the guard's record with the same decision code.

For every look the live guard recorded, :func:`replay` hands :class:`~app.guard_rules.Judge`
the calls the live window held at that moment (the recorded calls of that mode in the last
``window_s``, none from before a rollback of that mode) and collects its decisions. With the
thresholds the live guard used, it decides as the live guard did, look for look; with others,
it shows what they would have done. Each process (``source``) is replayed on its own, as each
judged only its own calls.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from app.guard_record import LookRow, Recorded
from app.guard_rules import Call, Decision, Judge, Thresholds

__all__ = ["Replayed", "parse_since", "replay"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> float:
    """``90s``, ``15m``, ``1h`` or ``2d`` as seconds; ``ValueError`` naming the problem."""
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    try:
        seconds = float(value) * _UNITS[unit]
    except (KeyError, ValueError):
        problem = f"--since must be a number and a unit (s, m, h, d), got {text!r}"
        raise ValueError(problem) from None
    if not 0 < seconds <= 31 * 86400:
        raise ValueError(f"--since must be positive and at most 31 days, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Replayed:
    """One replayed look: the replay's decision beside what the live guard recorded."""

    source: str
    decision: Decision
    live: LookRow

    @property
    def acted(self) -> bool:
        """Whether the replay would roll back (or dry-run) at this look."""
        return self.decision.rollback is not None


def replay(recorded: Recorded, domain: str, limits: Thresholds) -> list[Replayed]:
    """Every recorded look of ``domain`` judged again with ``limits``, in time order."""
    found: list[Replayed] = []
    for source, looks in sorted(recorded.looks.items()):
        found += _replay_source(source, looks, recorded.calls.get(source, {}), domain, limits)
    found.sort(key=lambda r: r.live.at)
    return found


def _replay_source(
    source: str, looks: list[LookRow], calls: dict[str, list[Call]], domain: str,
    limits: Thresholds,
) -> list[Replayed]:  # fmt: skip
    judge = Judge(lambda _domain: limits)
    times = {mode: [c.at for c in kept] for mode, kept in calls.items()}
    reset_at: dict[str, float] = {}
    found = []
    for look in looks:
        kept, at = calls.get(look.mode, []), times.get(look.mode, [])
        start = max(look.at - limits.window_s, reset_at.get(look.mode, -math.inf))
        window = kept[bisect.bisect_right(at, start) : bisect.bisect_right(at, look.at)]
        decision = judge.look(domain, look.mode, window, look.at)
        if decision.rollback is not None:
            reset_at[look.mode] = look.at
        found.append(Replayed(source, decision, look))
    return found
