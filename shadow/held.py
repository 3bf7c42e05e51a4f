"""Mismatches held while their operation warms up: recorded once calibration has judged them.

While an operation is warming up (``routing.shadowing.calibration``), each of its shadowed
calls is also run A/A, before its A/B comparison is counted. A mismatch every differing path
of which also differed between the two A/A runs of that same call is most likely the primary
path's own noise (a column the database clock stamps), but no verdict says so yet: the engine
**holds** it. A held mismatch is counted in calibration's A/B counts like any comparison, but
it is neither recorded as a divergence yet nor counted against readiness or the guard (it is
counted as ignored), and in test mode it does not raise.

Every judgement (``Divergences.calibrate``) settles the held signatures whose paths all have a
verdict made on enough calls (``NoiseRule.min_aa_calls`` A/A and ``min_ab_calls`` A/B): their
divergences are then recorded, all of them (the count) with the first exemplars. A group whose
paths are all noise is judged ``noise`` in the same judgement; any other is ``open`` and
counts from then on. A mismatch with a path its own A/A runs did not see differ (a
deterministic wrong value) is never held. Holding is bounded: past ``max_signatures``
signatures a mismatch is recorded at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from shadow.records import Divergence

__all__ = ["Held", "HeldDivergences"]


@dataclass(slots=True)
class Held:
    """One held signature: its divergences (the first ``exemplars`` kept) and how many."""

    domain: str
    operation: str
    diff_paths: tuple[str, ...]
    kept: list[Divergence] = field(default_factory=list)
    count: int = 0


class HeldDivergences:
    """The mismatches held until calibration's verdict, per signature (thread-safe)."""

    def __init__(self, exemplars: int = 5, max_signatures: int = 1000) -> None:
        self._exemplars = exemplars
        self._max = max_signatures
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}

    def hold(self, divergence: Divergence) -> bool:
        """Hold ``divergence``; ``False`` (not held) once ``max_signatures`` are held."""
        with self._lock:
            held = self._held.get(divergence.signature)
            if held is None:
                if len(self._held) >= self._max:
                    return False
                held = self._held[divergence.signature] = Held(
                    divergence.domain, divergence.operation, divergence.diff_paths
                )
            held.count += 1
            if len(held.kept) < self._exemplars:
                held.kept.append(divergence)
            return True

    def waiting(self) -> dict[str, Held]:
        """A copy of what is held, by signature."""
        with self._lock:
            return dict(self._held)

    def release(self, signatures: set[str], record: Callable[[Divergence], None]) -> int:
        """Record every held divergence of ``signatures`` and stop holding them; how many."""
        with self._lock:
            taken = [self._held.pop(s) for s in signatures if s in self._held]
        released = 0
        for held in taken:
            for i in range(held.count):
                record(held.kept[min(i, len(held.kept) - 1)])
                released += 1
        return released
