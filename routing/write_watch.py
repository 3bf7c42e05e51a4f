"""Which reads raced with a write: two paths reading the same rows at different instants.

A shadowed read runs on both paths at once, but not in one snapshot: a write that commits
between the primary's read and the shadow's makes them differ with neither being wrong. So
every write the runner serves is announced here, per entity (``player:<id>``) and per kind
(``player``): ``begin`` before it starts, ``end`` after it commits. A read takes a
:meth:`WriteWatch.mark` when it starts and asks :meth:`WriteWatch.quiet` before it is
compared: if a write of what it read was in flight at either end, or ended in between, the
comparison is dropped (a counted skip), never recorded as a divergence.

Only writes made through this process's runner are seen; the limit is documented in
``routing.shadow_runner``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ANY_KEY", "Mark", "Watched", "WriteWatch", "watched_by"]

#: Counts writes of a whole kind (no key), which every read of one entity of it depends on.
ANY_KEY = "*"

#: What a read depends on: ``(kind, key)``, where ``key`` is ``None`` for the whole kind.
Watched = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """The write counters of what a read depends on, when it started."""

    watched: Watched
    versions: tuple[int, ...]
    busy: bool


class WriteWatch:
    """Counters of writes in flight and writes ended, per entity and per kind; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str | None], int] = {}
        self._ended: dict[tuple[str, str | None], int] = {}

    def begin(self, touched: Iterable[tuple[str, str | None]]) -> None:
        """A write of these entities (and so of their kinds) is starting."""
        with self._lock:
            for name in _with_kinds(touched):
                self._in_flight[name] = self._in_flight.get(name, 0) + 1

    def end(self, touched: Iterable[tuple[str, str | None]]) -> None:
        """That write has committed (or failed)."""
        with self._lock:
            for name in _with_kinds(touched):
                self._in_flight[name] -= 1
                self._ended[name] = self._ended.get(name, 0) + 1

    def busy(self, entities: Iterable[tuple[str, str | None]]) -> bool:
        """Whether a write of any of these entities is in flight now."""
        with self._lock:
            return any(self._in_flight.get(e, 0) for e in entities if e[1] is not None)

    def mark(self, watched: Watched) -> Mark:
        """The counters a read starts with."""
        with self._lock:
            versions = tuple(self._ended.get(name, 0) for name in watched)
            busy = any(self._in_flight.get(name, 0) for name in watched)
        return Mark(watched, versions, busy)

    def quiet(self, mark: Mark) -> bool:
        """Whether no write of what the read depends on could have landed during it."""
        if mark.busy:
            return False
        with self._lock:
            if any(self._in_flight.get(name, 0) for name in mark.watched):
                return False
            now = tuple(self._ended.get(name, 0) for name in mark.watched)
        return now == mark.versions


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
