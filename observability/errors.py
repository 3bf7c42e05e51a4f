"""Unexpected exceptions: one error event each, with a formatted traceback, rate-limited.

An unexpected exception is a bug, and its traceback is what fixes it; but the same bug on
every call of a busy path would bury everything else. :class:`ErrorReports` logs the first
occurrence of each *signature* (the event, the exception's class and the line that raised
it) with ``exception`` set to the traceback as a string, without local variables and
masked; later ones within ``window_s`` are counted and the next report carries
``suppressed``: how many were not logged since the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from observability.tracebacks import describe, format_traceback

__all__ = ["ErrorReports", "report_error"]

DEFAULT_WINDOW_S = 60.0
_MAX_SIGNATURES = 1024


class ErrorReports:
    """Logs unexpected exceptions, at most once per signature and ``window_s``."""

    def __init__(
        self, window_s: float = DEFAULT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, ...], tuple[float, int]] = {}

    def report(self, event: str, error: BaseException, **fields: Any) -> bool:
        """Log ``event`` for ``error`` unless its signature was logged within the window."""
        key = signature(event, error)
        now = self._clock()
        with self._lock:
            logged_at, suppressed = self._last.get(key, (None, 0))
            if logged_at is not None and now - logged_at < self.window_s:
                self._last[key] = (logged_at, suppressed + 1)
                return False
            if len(self._last) >= _MAX_SIGNATURES:
                self._last.clear()
            self._last[key] = (now, 0)
        if suppressed:
            fields["suppressed"] = suppressed
        structlog.get_logger().error(
            event, error=describe(error), exception=format_traceback(error), **fields
        )
        return True


def signature(event: str, error: BaseException) -> tuple[str, ...]:
    """The event, the error's class and the file and line that raised it."""
    cls = type(error)
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
    return (event, f"{cls.__module__}.{cls.__qualname__}", where)


_REPORTS = ErrorReports()


def report_error(event: str, error: BaseException, **fields: Any) -> bool:
    """Report ``error`` through the process's :class:`ErrorReports`; True if it was logged."""
    return _REPORTS.report(event, error, **fields)
