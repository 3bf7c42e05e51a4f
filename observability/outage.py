"""An expected infrastructure failure, logged once when it starts and once when it ends.

A database restart fails hundreds of calls in a few seconds; each of them is expected, and
one traceback per call says nothing the first did not. An :class:`Outage` turns them into
two events:

- ``<name>_unavailable`` (warning), at the first failure: what failed, masked;
- ``<name>_recovered`` (info), once calls succeed again: ``down_for_s`` (first failure to
  first success), ``failed_calls`` and ``errors`` (failed calls by error class).

``settle_s`` holds the recovery back until calls have kept succeeding for that long, so that
the stragglers of the same outage (a connection that died with the server but is noticed a
moment later) do not start a second one. The recovery is then logged by the first success
after ``settle_s``; a failure meanwhile keeps the outage open.

Thread-safe; ``succeeded()`` costs one attribute read while nothing is down, so it may sit on
the hot path.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog

from observability.tracebacks import describe

__all__ = ["Outage"]


class Outage:
    """Tracks one component's access to one resource and logs only the transitions."""

    def __init__(
        self,
        name: str,
        *,
        settle_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        **context: Any,
    ) -> None:
        self.name = name
        self._settle_s = settle_s
        self._clock = clock
        self._context = context
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._first_ok: float | None = None
        self._errors: Counter[str] = Counter()
        self.outages = 0

    @property
    def down(self) -> bool:
        """True from the first failure until the recovery is logged."""
        return self._down_since is not None

    def failed(self, error: BaseException | str, **fields: Any) -> None:
        """Count one failed call; the first one of an outage logs ``<name>_unavailable``."""
        kind = type(error).__name__ if isinstance(error, BaseException) else error[:80]
        with self._lock:
            self._errors[kind] += 1
            self._first_ok = None
            if self._down_since is not None:
                return
            self._down_since = self._clock()
            self.outages += 1
        structlog.get_logger().warning(
            f"{self.name}_unavailable", error=describe(error), **self._context, **fields
        )

    def succeeded(self, **fields: Any) -> None:
        """Note a call that worked; ends the outage (``<name>_recovered``) once it settled."""
        if self._down_since is None:
            return
        with self._lock:
            ended = self._end()
        if ended is not None:
            down_for, errors = ended
            structlog.get_logger().info(
                f"{self.name}_recovered",
                down_for_s=round(down_for, 3),
                failed_calls=sum(errors.values()),
                errors=dict(errors),
                **self._context,
                **fields,
            )

    def _end(self) -> tuple[float, Counter[str]] | None:
        """Under the lock: the duration and errors if the outage ends now, else None."""
        if self._down_since is None:
            return None
        now = self._clock()
        if self._first_ok is None:
            self._first_ok = now
        if now - self._first_ok < self._settle_s:
            return None
        down_for = self._first_ok - self._down_since
        errors, self._errors = self._errors, Counter()
        self._down_since = self._first_ok = None
        return down_for, errors
