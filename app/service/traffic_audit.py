"""What a traffic run checks itself with: an HP/XP tally, the comparisons, resident memory.

``Tally``
    Tally players are set aside: the random workload never touches them, and only the tally
    actions write their health and experience, each an atomic ``UPDATE``. Their health is
    set far from both clamps before the run (``TALLY_START_HP`` of ``TALLY_MAX_HP``), so an
    acknowledged change applies in full: at the end, a player's HP is ``TALLY_START_HP``
    plus the sum of its acknowledged HP deltas, and its XP its starting XP plus the sum of
    its acknowledged XP gains. The tally also counts the ``HPChanged`` and ``XPGained``
    events published on the bus for these players: one per acknowledged write.
``ComparisonLog``
    Every comparison the shadow engine makes, by domain, mode, primary path, shadow path
    and outcome: which path served the caller in each mode, and whether they agreed.
``sample_memory``
    The process's resident set size (``VmRSS`` in ``/proc/self/status``) once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from persistence.events import EventBus, HPChanged, XPGained
from shadow.observation import Result

__all__ = [
    "TALLY_MAX_HP",
    "TALLY_START_HP",
    "ComparisonLog",
    "MemorySeries",
    "PlayerTally",
    "Tally",
    "resident_kib",
    "sample_memory",
]

TALLY_MAX_HP = 1_000_000_000
TALLY_START_HP = 500_000_000
STATUS = Path("/proc/self/status")


@dataclass
class PlayerTally:
    """One tally player: acknowledged writes and their deltas, and the events seen."""

    hp_writes: int = 0
    hp_delta: int = 0
    xp_writes: int = 0
    xp_delta: int = 0
    hp_events: int = 0
    hp_event_delta: int = 0
    xp_events: int = 0
    xp_event_amount: int = 0


@dataclass
class Tally:
    """Acknowledged HP and XP changes of the tally players, and their published events."""

    players: dict[str, PlayerTally]
    uncertain: int = 0  # tally writes that raised: applied or not, nobody can say
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, player_ids: Sequence[UUID | str]) -> Tally:
        """An empty tally of ``player_ids``."""
        return cls({str(p): PlayerTally() for p in player_ids})

    def hp(self, player_id: UUID | str, delta: int) -> None:
        """An HP change of ``delta`` was acknowledged."""
        entry = self.players[str(player_id)]
        entry.hp_writes += 1
        entry.hp_delta += delta

    def xp(self, player_id: UUID | str, delta: int) -> None:
        """An XP gain of ``delta`` was acknowledged."""
        entry = self.players[str(player_id)]
        entry.xp_writes += 1
        entry.xp_delta += delta

    def follow(self, bus: EventBus) -> None:
        """Count this tally's players' ``HPChanged`` and ``XPGained`` events on ``bus``."""
        bus.subscribe(HPChanged, self._on_hp)
        bus.subscribe(XPGained, self._on_xp)

    def unfollow(self, bus: EventBus) -> None:
        """Stop counting events on ``bus``."""
        bus.unsubscribe(HPChanged, self._on_hp)
        bus.unsubscribe(XPGained, self._on_xp)

    def _on_hp(self, event: HPChanged) -> None:
        entry = self.players.get(str(event.player_id))
        if entry is not None:
            with self._lock:  # handlers run in the publisher's thread
                entry.hp_events += 1
                entry.hp_event_delta += event.delta

    def _on_xp(self, event: XPGained) -> None:
        entry = self.players.get(str(event.player_id))
        if entry is not None:
            with self._lock:
                entry.xp_events += 1
                entry.xp_event_amount += event.amount

    def as_dict(self) -> dict[str, Any]:
        """Plain data: ``{"players": {id: {...}}, "uncertain": n}``."""
        with self._lock:
            players = {pid: asdict(entry) for pid, entry in self.players.items()}
        return {"players": players, "uncertain": self.uncertain}


class ComparisonLog:
    """Counts the shadow engine's comparisons; attach with ``engine.add_listener(log)``."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str, str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, result: Result) -> None:
        """One comparison (a ``shadow.observation.Result``)."""
        outcome = result.kind or ("ignored" if result.ignored else "match")
        key = (result.domain, result.mode, result.primary.path, result.shadow.path, outcome)
        with self._lock:  # listeners run on the observing thread
            self.counts[key] += 1

    def rows(self) -> list[dict[str, Any]]:
        """One row per domain, mode, paths and outcome, with its count."""
        names = ("domain", "mode", "primary", "shadow", "outcome")
        with self._lock:
            counted = sorted(self.counts.items())
        return [{**dict(zip(names, key, strict=True)), "count": n} for key, n in counted]


def resident_kib() -> int | None:
    """This process's resident set size in KiB, or None where /proc is not there."""
    try:
        text = STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class MemorySeries:
    """Resident memory samples ``(seconds since start, KiB)`` and the warm-up to skip."""

    warmup_s: float
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def baseline_kib(self) -> int | None:
        """The first sample once the warm-up is over."""
        after = [kib for at, kib in self.samples if at >= self.warmup_s]
        return after[0] if after else None

    @property
    def growth(self) -> float | None:
        """Growth from the baseline to the last sample, as a fraction of the baseline."""
        base = self.baseline_kib
        if base is None or not self.samples:
            return None
        return (self.samples[-1][1] - base) / base

    def as_dict(self) -> dict[str, Any]:
        """Plain data: the warm-up, the series, the baseline, the end and the growth."""
        return {
            "warmup_s": self.warmup_s,
            "samples": [[round(at, 2), kib] for at, kib in self.samples],
            "baseline_kib": self.baseline_kib,
            "end_kib": self.samples[-1][1] if self.samples else None,
            "growth": self.growth,
        }


async def sample_memory(series: MemorySeries, stop: asyncio.Event, every_s: float = 1.0) -> None:
    """Sample resident memory into ``series`` every ``every_s`` until ``stop``, then once more."""
    started = time.monotonic()
    while True:
        kib = resident_kib()
        if kib is not None:
            series.samples.append((time.monotonic() - started, kib))
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
