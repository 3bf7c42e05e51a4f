"""The flag decision as the router sees it: one call per operation call, and it never raises.

A provider's ``mode_for`` promises not to raise, but the router does not bet the caller's
request on it: an exception or an unknown mode serves the call from ``legacy`` and is logged
once when the outage starts and once when it ends, never per call.
"""

from __future__ import annotations

import threading
from typing import Protocol

import structlog

from flags.model import MODES, SAFE_MODE, Mode
from routing.services import current_service

_KNOWN: frozenset[str] = frozenset(MODES)


class ModeSource(Protocol):
    """The one thing the router needs from a flag provider."""

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode of one call."""
        ...


class GuardedFlags:
    """Wraps a ``ModeSource`` so that asking for a mode can never fail."""

    __slots__ = ("_down", "_lock", "_source")

    def __init__(self, source: ModeSource) -> None:
        self._source = source
        self._down = False
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True while the source is failing (between the two log events)."""
        return self._down

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The source's mode for this call, or ``legacy`` if it raised or answered nonsense.

        A call from a view without a service of its own is decided for the context's calling
        service (``routing.services``), so a flag that targets a service reaches its calls.
        """
        if service is None:
            service = current_service()
        try:
            mode = self._source.mode_for(domain, key, service)
        except Exception as exc:
            self._failed(domain, f"{type(exc).__name__}: {exc}")
            return SAFE_MODE
        if mode not in _KNOWN:
            self._failed(domain, f"unknown mode {mode!r}")
            return SAFE_MODE
        if self._down:
            self._recovered()
        return mode

    def _failed(self, domain: str, error: str) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        structlog.get_logger().error(
            "routing.flags_unavailable", domain=domain, error=error, fallback=SAFE_MODE
        )

    def _recovered(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        structlog.get_logger().info("routing.flags_recovered")
