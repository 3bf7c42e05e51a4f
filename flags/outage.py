"""Log a provider's outage once when it starts and once when it ends, never per call or poll."""

from __future__ import annotations

import threading
import time

import structlog


class OutageLog:
    """Tracks whether a provider's source is reachable and logs only the transitions."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        """True between an ``unavailable`` and the next ``recovered``."""
        return self._down_since is not None

    def unavailable(self, error: BaseException | str) -> None:
        """Record a failure; logs ``flags.provider_unavailable`` only for the first one."""
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        structlog.get_logger().warning(
            "flags.provider_unavailable", provider=self._provider, error=_describe(error)
        )

    def recovered(self) -> None:
        """Record a success; logs ``flags.provider_recovered`` if the source had been down."""
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            structlog.get_logger().info(
                "flags.provider_recovered",
                provider=self._provider,
                down_for_s=round(time.monotonic() - since, 3),
            )


def _describe(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return error
