"""Prometheus metrics of the service: HTTP requests, and the current mode of every domain.

``/metrics`` serves these together with the shadow engine's registry (comparisons,
divergences, latency per path, queue drops), found on the ``System`` when it has one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

import structlog
from fastapi import Request, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from flags.model import MODES, FlagState
from observability import Outage

__all__ = ["ServiceMetrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SLOW_SECONDS = 1.0  # requests slower than this are logged; the rest only counted
REQUEST_LOG_WINDOW_S = 60.0  # at most one http.request event per window; the rest counted


class ServiceMetrics:
    """The service's own collectors, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        # 503s (the database or the flag source down) are one outage, not one event each.
        self.outage = Outage("http.service", settle_s=1.0)
        self._request_log = Throttle(REQUEST_LOG_WINDOW_S)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dualpath_http_requests",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dualpath_http_request_duration_seconds",
            "Time to serve an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.mode = Gauge(
            "dualpath_flag_mode",
            "1 for the mode each domain is in now, 0 for the others.",
            ["domain", "mode"],
            registry=self.registry,
        )
        self.percent = Gauge(
            "dualpath_flag_percent",
            "The percent of entity keys that get each domain's mode.",
            ["domain"],
            registry=self.registry,
        )

    def observe_flags(self, states: Iterable[FlagState]) -> None:
        """Set the mode gauges from the flag states."""
        for state in states:
            for mode in MODES:
                self.mode.labels(state.domain, mode).set(1 if state.mode == mode else 0)
            self.percent.labels(state.domain).set(state.percent)

    def render(self, extra: Iterable[CollectorRegistry] = ()) -> bytes:
        """The exposition text of this registry and of ``extra`` registries."""
        chunks = [generate_latest(self.registry)]
        chunks.extend(generate_latest(r) for r in extra if r is not self.registry)
        return b"".join(chunks)

    def _worth_logging(self, status: int, elapsed: float) -> bool:
        """5xx and slow requests, except 503s and slowness during an outage (logged once).

        Those are logged one per ``REQUEST_LOG_WINDOW_S`` at most (``_log_request``).
        """
        if status == 503:
            return False
        return status >= 500 or (elapsed >= SLOW_SECONDS and not self.outage.down)

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Count and time one request under its route template (never the raw path)."""
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = getattr(request.scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.requests.labels(request.method, route, str(status)).inc()
            self.latency.labels(request.method, route).observe(elapsed)
            if status < 500:
                self.outage.succeeded()
            if self._worth_logging(status, elapsed):
                self._log_request(request.method, route, status, elapsed)

    def _log_request(self, method: str, route: str, status: int, elapsed: float) -> None:
        """One ``http.request`` per window; ``not_logged`` counts those left out before it."""
        not_logged = self._request_log.allow()
        if not_logged is None:
            return
        structlog.get_logger().warning(
            "http.request",
            method=method,
            route=route,
            status=status,
            ms=round(elapsed * 1000, 1),
            not_logged=not_logged,
        )


class Throttle:
    """Allows one event per ``window_s``; counts the ones it refused in between."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._last: float | None = None
        self._refused = 0

    def allow(self) -> int | None:
        """The count refused since the last allowed one, or None to refuse this one too."""
        now = self._clock()
        if self._last is not None and now - self._last < self.window_s:
            self._refused += 1
            return None
        refused, self._refused, self._last = self._refused, 0, now
        return refused
