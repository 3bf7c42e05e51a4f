"""Which reads raced with a write: two paths reading the same rows at different instants.

A shadowed read runs on both paths at once, but not in one snapshot: a write that commits
between the primary's read and the shadow's makes them differ with neither being wrong. So
every write routed is announced here, per entity (``player:<id>``) and per kind
(``player``): ``begin`` before it starts, ``end`` after it commits. A read takes a
:meth:`WriteWatch.mark` when it starts and asks :meth:`WriteWatch.quiet` before it is
compared: if a write of what it read was in flight at either end, or ended in between, the
comparison is dropped (a counted skip), never recorded as a divergence.

Every write this process routes is announced, whatever its domain's mode (the runner serves
``shadow`` and ``live``; its ``write_watch`` layer wraps ``legacy`` and ``async``). Writes
from another process are not seen; the limit is described in ``docs/shadowing.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["ANY_KEY", "Mark", "Watched", "WriteWatch", "watched_by"]

#: Counts writes of a whole kind (no key), which every read of one entity of it depends on.
ANY_KEY = "*"

#: What a read depends on: ``(kind, key)``, where ``key`` is ``None`` for the whole kind.
Watched = tuple[tuple[str, str | None], ...]


#: How long a write's end is remembered; a read that lasts longer is taken as raced.
HORIZON_S = 60.0


@dataclass(frozen=True, slots=True)
class Mark:
    """Where the write sequence stood when a read started, and whether a write was running."""

    watched: Watched
    seq: int
    started: float
    busy: bool


class WriteWatch:
    """Writes in flight and the last write ended, per entity and per kind; thread-safe.

    Every write that ends takes the next number of one sequence; a read is quiet if nothing
    it depends on ended with a number above the one it started with. Entities come and go
    (items are made and destroyed all day), so what is remembered is bounded: an entity is
    forgotten once no write of it is in flight and its last one ended ``horizon_s`` ago, and
    a read older than that is never taken as quiet.
    """

    def __init__(
        self, horizon_s: float = HORIZON_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str | None], int] = {}
        self._ended: dict[tuple[str, str | None], tuple[int, float]] = {}
        self._seq = 0
        self._horizon_s = horizon_s
        self._clock = clock
        self._pruned_at = clock()

    def __len__(self) -> int:
        """How many entities and kinds are remembered."""
        return len(self._in_flight.keys() | self._ended.keys())

    def begin(self, touched: Iterable[tuple[str, str | None]]) -> None:
        """A write of these entities (and so of their kinds) is starting."""
        with self._lock:
            for name in _with_kinds(touched):
                self._in_flight[name] = self._in_flight.get(name, 0) + 1

    def end(self, touched: Iterable[tuple[str, str | None]]) -> None:
        """That write has committed (or failed)."""
        now = self._clock()
        with self._lock:
            self._seq += 1
            for name in _with_kinds(touched):
                left = self._in_flight[name] - 1
                if left:
                    self._in_flight[name] = left
                else:
                    del self._in_flight[name]
                self._ended[name] = (self._seq, now)
            if now - self._pruned_at >= self._horizon_s:
                self._prune(now)

    def busy(self, entities: Iterable[tuple[str, str | None]]) -> bool:
        """Whether a write of any of these entities is in flight now."""
        with self._lock:
            return any(self._in_flight.get(e, 0) for e in entities if e[1] is not None)

    def mark(self, watched: Watched) -> Mark:
        """Where things stand as a read starts."""
        now = self._clock()
        with self._lock:
            busy = any(self._in_flight.get(name, 0) for name in watched)
            return Mark(watched, self._seq, now, busy)

    def quiet(self, mark: Mark) -> bool:
        """Whether no write of what the read depends on could have landed during it."""
        if mark.busy or self._clock() - mark.started >= self._horizon_s:
            return False
        with self._lock:
            if any(self._in_flight.get(name, 0) for name in mark.watched):
                return False
            return all(self._ended.get(name, _NEVER)[0] <= mark.seq for name in mark.watched)

    def _prune(self, now: float) -> None:
        cutoff = now - self._horizon_s
        self._ended = {name: end for name, end in self._ended.items() if end[1] >= cutoff}
        self._pruned_at = now


_NEVER = (0, 0.0)


def _with_kinds(touched: Iterable[tuple[str, str | None]]) -> set[tuple[str, str | None]]:
    """A write of ``(kind, key)`` counts for the kind too; one of a whole kind for every key."""
    names: set[tuple[str, str | None]] = set()
    for kind, key in touched:
        names.add((kind, None))
        names.add((kind, key if key is not None else ANY_KEY))
    return names


def watched_by(kind: str, key: str | None) -> Watched:
    """What a read of one entity (or, with no key, of a whole kind) depends on."""
    if key is None:
        return ((kind, None),)
    return ((kind, key), (kind, ANY_KEY))
