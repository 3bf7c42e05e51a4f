"""A/A and A/B counts per field path, kept apart from the divergences, and written in batches.

The engine counts every comparison twice over: A/B (the primary against the other path, what
the runner always compares) and A/A (the primary's own path run again as a second shadow, on
a sampled share of calls). For each (domain, operation) it counts the comparisons (under the
empty path ``""``) and, for each differing field path (list indices as ``[*]``), how many of
them differed there. ``add`` is on the comparison path: a few dictionary increments under a
lock. :meth:`CalibrationCounts.flush` adds what was counted to ``shadow_calibration``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from shadow.pool import LazyPool
from shadow.signature import normalise_path

__all__ = ["CALLS", "CalibrationCounts", "Side"]

#: The path under which an operation's comparisons themselves are counted.
CALLS = ""
Side = Literal["aa", "ab"]
Key = tuple[str, str, str]

UPSERT = """
INSERT INTO shadow_calibration AS c (domain, operation, path, aa, ab)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
ON CONFLICT (domain, operation, path) DO UPDATE SET aa = c.aa + EXCLUDED.aa,
                                                   ab = c.ab + EXCLUDED.ab
"""


class CalibrationCounts:
    """What the A/A and A/B comparisons found, per field path, until the next flush."""

    def __init__(self, pool: LazyPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._counts: dict[Side, Counter[Key]] = {"aa": Counter(), "ab": Counter()}

    def add(self, side: Side, domain: str, operation: str, paths: Iterable[str]) -> None:
        """Count one comparison of ``side`` and each path it differed at."""
        with self._lock:
            counter = self._counts[side]
            counter[(domain, operation, CALLS)] += 1
            for path in {normalise_path(p) for p in paths}:
                counter[(domain, operation, path)] += 1

    def pending(self, side: Side) -> Counter[Key]:
        """A copy of what is counted and not yet written."""
        with self._lock:
            return Counter(self._counts[side])

    async def flush(self) -> None:
        """Add what was counted to PostgreSQL; on failure it is kept for the next flush."""
        with self._lock:
            taken = self._counts
            self._counts = {"aa": Counter(), "ab": Counter()}
        rows = _rows(taken)
        if not rows:
            return
        try:
            await self._pool.execute(UPSERT, *map(list, zip(*rows, strict=True)))
        except BaseException:
            self._restore(taken)
            raise

    async def load(self) -> dict[tuple[str, str], dict[str, tuple[int, int]]]:
        """Every stored count: ``{(domain, operation): {path: (aa, ab)}}``."""
        found: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for row in await self._pool.fetch("SELECT * FROM shadow_calibration"):
            paths = found.setdefault((row["domain"], row["operation"]), {})
            paths[row["path"]] = (int(row["aa"]), int(row["ab"]))
        return found

    def _restore(self, taken: dict[Side, Counter[Key]]) -> None:
        with self._lock:
            for side, counter in taken.items():
                self._counts[side].update(counter)


def _rows(taken: dict[Side, Counter[Key]]) -> list[tuple[Any, ...]]:
    keys = set(taken["aa"]) | set(taken["ab"])
    return [(*key, taken["aa"][key], taken["ab"][key]) for key in sorted(keys)]
