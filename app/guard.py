"""The guard: rolls a domain back to its last safe mode when the new path misbehaves.

Figures come from this process, as they happen: every Result of the shadow engine (modes
``shadow`` and ``live``, through ``ShadowEngine.add_listener``) and every call served in
``async`` mode (the router's ``async`` strategy, wrapped). A :class:`SlidingWindow` keeps
them per domain, mode and second. Every ``interval_s`` the guard looks at each domain's
current mode over two spans, the whole window (``window_s``) and the last ``fast_window_s``
seconds, so a sudden failure is caught within about two seconds while a slow one is still
caught over the minute. With at least ``min_samples`` calls in the span:

* ``live``: the divergence rate, the async path's error rate, and the ratio of the async
  path's p99 to the legacy path's p99 → back to ``shadow``;
* ``shadow``: the async path's (the shadow's) error rate, timeouts included → ``legacy``;
* ``async``: the async path's error rate → ``legacy``.

An error is any exception but the game's refusals (``ValidationError``, ``NotFoundError``).
A rollback writes a local override (``flags.overrides``) that caps the domain in every
process at once, then asks the provider to change the flag too (PostgreSQL always, Unleash
with an admin token), with actor ``guard``, the reason and the figures in the audit log. It
logs one ``guard.rollback`` event and counts ``dualpath_guard_rollbacks_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

from app.guard_window import Figures, SlidingWindow, is_fault
from flags.model import FlagError, FlagProvider, FlagSourceUnavailable, Mode
from flags.transitions import step_back
from observability import report_error
from shadow.observation import Result

__all__ = [
    "ACTOR",
    "Figures",
    "Guard",
    "SlidingWindow",
    "Thresholds",
    "attach_guard",
    "breach",
    "is_fault",
    "parse_threshold_overrides",
    "thresholds_from",
]

ACTOR = "guard"
GUARDED: frozenset[str] = frozenset({"shadow", "live", "async"})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the guard rolls a domain back; see the module docstring."""

    max_divergence_rate: float = 0.01
    max_error_rate: float = 0.05
    max_p99_ratio: float = 3.0
    min_samples: int = 50
    window_s: float = 60.0
    fast_window_s: float = 2.0

    def with_overrides(self, overrides: Mapping[str, float]) -> Thresholds:
        """These thresholds with some fields replaced (already validated)."""
        return replace(self, **overrides)  # type: ignore[arg-type]


def parse_threshold_overrides(text: str) -> dict[str, dict[str, float]]:
    """``'{"health": {"max_error_rate": 0.1}}'`` checked; ``ValueError`` naming the problem."""
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"guard overrides must be JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError('guard overrides must be a JSON object: {"domain": {"field": value}}')
    return {str(domain): _threshold_fields(domain, values) for domain, values in parsed.items()}


def _threshold_fields(domain: str, values: object) -> dict[str, float]:
    names = {f.name for f in fields(Thresholds)}
    if not isinstance(values, dict) or not values:
        raise ValueError(f"guard overrides for {domain!r} must be a non-empty object")
    for name, value in values.items():
        if name not in names:
            raise ValueError(f"unknown guard threshold {name!r}; known: {', '.join(sorted(names))}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"guard threshold {domain}.{name} must be a positive number")
    return dict(values)


def breach(mode: str, figures: Figures, limits: Thresholds) -> str | None:
    """Why ``figures`` in ``mode`` breach ``limits``, or None; see the module docstring."""
    enough = limits.min_samples
    span = f"over {figures.span_s:g} s"
    if figures.samples["async"] >= enough:
        rate = figures.error_rate("async")
        if rate > limits.max_error_rate:
            return (
                f"async error rate {rate:.1%} > {limits.max_error_rate:.1%} "
                f"({figures.errors['async']} of {figures.samples['async']} calls {span})"
            )
    if mode != "live":
        return None
    if figures.comparisons >= enough and figures.divergence_rate > limits.max_divergence_rate:
        return (
            f"divergence rate {figures.divergence_rate:.1%} > {limits.max_divergence_rate:.1%} "
            f"({figures.divergences} of {figures.comparisons} comparisons {span})"
        )
    ratio = figures.p99_ratio
    if min(figures.samples.values()) >= enough and ratio is not None:
        if ratio > limits.max_p99_ratio:
            return f"async p99 {ratio:.1f} times legacy p99 > {limits.max_p99_ratio:g} ({span})"
    return None


Dispatch = Callable[[Any, tuple[Any, ...], dict[str, Any]], Awaitable[Any]]
SyncDispatch = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


class Guard:
    """Watches each domain's figures and rolls it back when they breach its thresholds."""

    def __init__(
        self,
        flags: FlagProvider,
        domains: Sequence[str],
        thresholds: Mapping[str, Thresholds],
        *,
        registry: CollectorRegistry,
        interval_s: float = 1.0,
        default: Thresholds | None = None,
    ) -> None:
        self._flags = flags
        self._domains = tuple(domains)
        self._default = default or Thresholds()
        self._limits = {d: thresholds.get(d, self._default) for d in self._domains}
        window = max(t.window_s for t in self._limits.values())
        self.window = SlidingWindow(window)
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self.rollbacks = Counter(
            "dualpath_guard_rollbacks",
            "Domains the guard rolled back, by the mode left and the mode taken.",
            ["domain", "from_mode", "to_mode"],
            registry=registry,
        )

    def thresholds(self, domain: str) -> Thresholds:
        """The thresholds in force for ``domain``."""
        return self._limits.get(domain, self._default)

    def on_result(self, result: Result) -> None:
        """The shadow engine's listener: count one shadowed call."""
        self.window.add_result(result)

    def wrap_async(self, serve: Dispatch) -> Dispatch:
        """The router's ``async`` strategy, counting each call's duration and fault."""
        add, clock = self.window.add_call, time.perf_counter

        async def counted(route: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            started, fault = clock(), False
            try:
                return await serve(route, args, kwargs)
            except BaseException as exc:
                fault = is_fault(exc)
                raise
            finally:
                add(route.operation.domain, "async", "async", clock() - started, fault)

        return counted

    def wrap_async_sync(self, serve: SyncDispatch) -> SyncDispatch:
        """The sync facade's ``async`` strategy, counted the same way."""
        add, clock = self.window.add_call, time.perf_counter

        def counted(route: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            started, fault = clock(), False
            try:
                return serve(route, args, kwargs)
            except BaseException as exc:
                fault = is_fault(exc)
                raise
            finally:
                add(route.operation.domain, "async", "async", clock() - started, fault)

        return counted

    def start(self) -> None:
        """Check every ``interval_s`` seconds in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="guard")

    async def stop(self) -> None:
        """Stop checking."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def check(self) -> list[tuple[str, Mode, Mode]]:
        """Check every domain once; the rollbacks made, as (domain, from, to)."""
        made = []
        for domain in self._domains:
            mode = await self._mode(domain)
            if mode not in GUARDED:
                continue
            found = self._breach(domain, mode)
            if found is not None:
                await self._rollback(domain, mode, *found)
                made.append((domain, mode, step_back(mode)))
        return made

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception as exc:  # the guard must outlive any one failed check
                report_error("guard.check_failed", exc)

    async def _mode(self, domain: str) -> Mode:
        effective = getattr(self._flags, "effective_mode", None)
        if effective is not None:
            mode: Mode = await effective(domain)
            return mode
        return (await self._flags.get(domain)).mode

    def _breach(self, domain: str, mode: str) -> tuple[str, Figures] | None:
        limits = self.thresholds(domain)
        for span in (limits.fast_window_s, limits.window_s):
            figures = self.window.figures(domain, mode, span)
            reason = breach(mode, figures, limits)
            if reason is not None:
                return reason, figures
        return None

    async def _rollback(self, domain: str, mode: Mode, why: str, figures: Figures) -> None:
        to_mode = step_back(mode)
        reason = f"guard: {why}"
        extra = {"figures": figures.as_dict(), "from_mode": mode, "to_mode": to_mode}
        self.window.reset(domain, mode)
        inner = getattr(self._flags, "inner", self._flags)
        override = getattr(self._flags, "override", None)
        if override is not None:
            audit = not getattr(inner, "audit_in_database", False)
            await override(domain, to_mode, reason=reason, actor=ACTOR, extra=extra, audit=audit)
        await self._set_provider(inner, domain, to_mode, reason, extra)
        self.rollbacks.labels(domain, mode, to_mode).inc()
        structlog.get_logger().warning(
            "guard.rollback", domain=domain, from_mode=mode, to_mode=to_mode, reason=reason,
            figures=extra["figures"],
        )  # fmt: skip

    async def _set_provider(
        self, inner: FlagProvider, domain: str, to_mode: Mode, reason: str, extra: dict[str, Any]
    ) -> None:
        """Turn the flag back at its source too; the override already holds if it cannot."""
        state = await inner.get(domain)
        services = sorted(state.services) if state.services is not None else None
        try:
            await inner.set(
                domain, to_mode, percent=state.percent, services=services, reason=reason,
                actor=ACTOR, extra=extra,
            )  # fmt: skip
        except (FlagError, FlagSourceUnavailable) as exc:
            structlog.get_logger().info(
                "guard.provider_unchanged", domain=domain, provider=inner.name, error=str(exc)
            )


def thresholds_from(
    settings: Any, domains: Sequence[str]
) -> tuple[Thresholds, dict[str, Thresholds]]:
    """The default thresholds and each overridden domain's, from ``DUALPATH_GUARD_*``."""
    default = Thresholds(
        max_divergence_rate=settings.guard_max_divergence_rate,
        max_error_rate=settings.guard_max_error_rate,
        max_p99_ratio=settings.guard_max_p99_ratio,
        min_samples=settings.guard_min_samples,
        window_s=settings.guard_window_s,
        fast_window_s=settings.guard_fast_window_s,
    )
    overrides = parse_threshold_overrides(settings.guard_overrides)
    unknown = sorted(set(overrides) - set(domains))
    if unknown:
        raise ValueError(f"guard overrides name unknown domains: {', '.join(unknown)}")
    return default, {d: default.with_overrides(o) for d, o in overrides.items()}


def attach_guard(
    settings: Any, flags: FlagProvider, router: Any, engine: Any, registry: CollectorRegistry,
    domains: Sequence[str],
) -> Guard:  # fmt: skip
    """A guard fed by ``engine``'s Results and by the router's ``async`` calls; not started."""
    default, per_domain = thresholds_from(settings, domains)
    guard = Guard(
        flags, domains, per_domain, registry=registry, interval_s=settings.guard_interval_s,
        default=default,
    )  # fmt: skip
    engine.add_listener(guard.on_result)
    serve, serve_sync = router.strategies("async")
    router.use_dispatch("async", guard.wrap_async(serve), sync=guard.wrap_async_sync(serve_sync))
    return guard
