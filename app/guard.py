"""The guard: rolls a domain back to its last safe mode when the new path misbehaves.

Figures come from this process, as they happen: every Result of the shadow engine (modes
``shadow`` and ``live``, through ``ShadowEngine.add_listener``) and every call served in
``async`` mode (the router's ``async`` strategy, wrapped). Each call is one tuple appended to
a bounded :class:`CallWindow`, with the event loop's lag as it ended (:class:`LoopLag`, which
the guard runs beside its looks); the statistics run in the guard's look, every
``interval_s``.

A look judges each guarded domain's current mode with the rules of :mod:`app.guard_rules`
(catastrophe, errors, divergence, latency, tail; each pass, inconclusive or fail) and acts
through :class:`~app.guard_rules.Judge`: the catastrophe rule at once, any other after
``failure_limit`` failing looks in a row. Then it records the calls it judged and its
decisions (:mod:`app.guard_record`) for ``dualpath guard replay``.

A rollback writes a local override (``flags.overrides``) that caps the domain in every
process at once, then asks the provider to change the flag too (PostgreSQL always, Unleash
with an admin token), with actor ``guard``, the deciding verdict in the reason and every
verdict in ``extra.figures``. It logs one ``guard.rollback`` event and counts
``dualpath_guard_rollbacks_total``. In dry run (``DUALPATH_GUARD_DRY_RUN``, or ``dry_run``
for one domain in ``DUALPATH_GUARD_OVERRIDES``) the guard changes nothing: it records the
decision in the flag history with ``extra.dry_run = true``, logs ``guard.dry_run`` and counts
``dualpath_guard_dry_run_rollbacks_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from app.guard_record import GuardRecord, look_outcome
from app.guard_rules import Decision, Judge, Thresholds
from app.guard_window import NO_MEANINGS, CallWindow, is_fault
from app.loop_lag import LoopLag
from flags.model import FlagError, FlagProvider, FlagSourceUnavailable, FlagsWithOverrides, Mode
from flags.transitions import step_back
from observability import report_error
from routing.chain import Layer
from routing.dispatch import Dispatch, Route, SyncDispatch
from shadow.errors import ErrorMeanings
from shadow.observation import Result

if TYPE_CHECKING:
    from shadow.engine import ShadowEngine

__all__ = [
    "ACTOR",
    "CallWindow",
    "Guard",
    "Thresholds",
    "build_guard",
    "is_fault",
    "parse_threshold_overrides",
    "thresholds_from",
]

ACTOR = "guard"
GUARDED: frozenset[str] = frozenset({"shadow", "live", "async"})
_RATES = frozenset({
    "max_divergence_rate", "max_error_rate", "catastrophe_error_rate", "alpha"})  # fmt: skip


def parse_threshold_overrides(text: str) -> dict[str, dict[str, float | bool]]:
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


def _threshold_fields(domain: str, values: object) -> dict[str, float | bool]:
    defaults = {f.name: f.default for f in fields(Thresholds)}
    if not isinstance(values, dict) or not values:
        raise ValueError(f"guard overrides for {domain!r} must be a non-empty object")
    for name, value in values.items():
        if name not in defaults:
            known = ", ".join(sorted(defaults))
            raise ValueError(f"unknown guard threshold {name!r}; known: {known}")
        _check_field(domain, name, value, defaults[name])
    return dict(values)


def _check_field(domain: str, name: str, value: object, default: object) -> None:
    where = f"guard threshold {domain}.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where} must be a positive number")
    if isinstance(default, int) and not isinstance(value, int):
        raise ValueError(f"{where} must be a whole number")
    if name in _RATES and value >= (1 if name == "alpha" else 1.000001):
        raise ValueError(f"{where} must be a rate below 1")


class Guard:
    """Watches each domain's calls and rolls it back when the rules say so."""

    def __init__(
        self,
        flags: FlagProvider,
        domains: Sequence[str],
        thresholds: Mapping[str, Thresholds],
        *,
        registry: CollectorRegistry,
        interval_s: float = 1.0,
        default: Thresholds | None = None,
        record: GuardRecord | None = None,
        per_second: int = 500,
        clock: Callable[[], float] = time.time,
        errors: ErrorMeanings = NO_MEANINGS,
    ) -> None:
        self._flags = flags
        self.errors = errors
        self._domains = tuple(domains)
        self._default = default or Thresholds()
        self._limits = {d: thresholds.get(d, self._default) for d in self._domains}
        window = max(t.window_s for t in self._limits.values())
        self.loop_lag = LoopLag()
        self.window = CallWindow(
            window,
            per_second,
            clock,
            record=record is not None,
            errors=errors,
            lag=self.loop_lag.during,
        )
        self.judge = Judge(self.thresholds)
        self.record = record
        self.last: dict[str, Decision] = {}
        self._clock = clock
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self.rollbacks = Counter(
            "dualpath_guard_rollbacks",
            "Domains the guard rolled back, by the mode left and the mode taken.",
            ["domain", "from_mode", "to_mode"],
            registry=registry,
        )
        self.look_seconds = Histogram(
            "dualpath_guard_look_seconds",
            "How long one look at every domain took (judged off the event loop).",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.dry_runs = Counter(
            "dualpath_guard_dry_run_rollbacks",
            "Rollbacks the guard would have made in dry run, by the mode and the fallback.",
            ["domain", "from_mode", "to_mode"],
            registry=registry,
        )
        for domain in self._domains:  # each panel shows 0 before the first rollback
            for mode in ("shadow", "live", "async"):
                self.rollbacks.labels(domain, mode, step_back(mode))
                self.dry_runs.labels(domain, mode, step_back(mode))

    def thresholds(self, domain: str) -> Thresholds:
        """The thresholds in force for ``domain``."""
        return self._limits.get(domain, self._default)

    def on_result(self, result: Result) -> None:
        """The shadow engine's listener: count one shadowed call."""
        self.window.add_result(result)

    def layer(self) -> Layer:
        """The guard's place in the dispatch chain: around every ``async`` call."""
        return Layer.over("guard", ("async",), self.wrap_async, self.wrap_async_sync)

    def wrap_async(self, serve: Dispatch) -> Dispatch:
        """The router's ``async`` strategy, counting each call's duration and fault."""
        add, clock = self.window.add_call, time.perf_counter

        async def counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            started, fault = clock(), False
            try:
                return await serve(route, args, kwargs)
            except BaseException as exc:
                fault = self.errors.is_fault(exc)
                raise
            finally:
                add(route.operation.domain, "async", clock() - started, fault)

        return counted

    def wrap_async_sync(self, serve: SyncDispatch) -> SyncDispatch:
        """The sync facade's ``async`` strategy, counted the same way."""
        add, clock = self.window.add_call, time.perf_counter

        def counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            started, fault = clock(), False
            try:
                return serve(route, args, kwargs)
            except BaseException as exc:
                fault = self.errors.is_fault(exc)
                raise
            finally:
                add(route.operation.domain, "async", clock() - started, fault)

        return counted

    def start(self) -> None:
        """Look every ``interval_s`` seconds in the background, and time the loop's lag."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="guard")
            self.loop_lag.start()

    async def stop(self) -> None:
        """Stop looking, and close the record."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.loop_lag.stop()
        if self.record is not None:
            await self.record.close()

    async def check(self) -> list[tuple[str, Mode, Mode]]:
        """Look at every domain once; the rollbacks made (not dry runs), as (domain, from, to)."""
        now, made, looks = self._clock(), [], []
        started = time.perf_counter()
        modes = {d: await self._mode(d) for d in self._domains}
        guarded = [(d, m) for d, m in modes.items() if m in GUARDED]
        # The statistics take milliseconds: judged in a thread, so the calls this process
        # serves (and times) on the event loop are not held up by their own guard.
        decisions = await asyncio.to_thread(self._judge_all, guarded, now)
        self.look_seconds.observe(time.perf_counter() - started)
        for decision in decisions:
            domain, mode = decision.domain, modes[decision.domain]
            self.last[domain] = decision
            limits = self.thresholds(domain)
            dry = decision.rollback is not None and not limits.acts_on(decision.rollback)
            looks.append((decision, look_outcome(decision, dry_run=dry)))
            if decision.rollback is None:
                continue
            self.window.reset(domain, mode, now)
            if dry:
                await self._dry_run(decision, mode)
            else:
                await self._rollback(decision, mode)
                made.append((domain, mode, step_back(mode)))
        if self.record is not None:
            await self.record.write(self.window.unrecorded(now), looks, now)
        return made

    def _judge_all(self, guarded: Sequence[tuple[str, Mode]], now: float) -> list[Decision]:
        return [
            self.judge.look(domain, mode, self.window.calls(domain, mode, now), now)
            for domain, mode in guarded
        ]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception as exc:  # the guard must outlive any one failed check
                report_error("guard.check_failed", exc)

    async def _mode(self, domain: str) -> Mode:
        if isinstance(self._flags, FlagsWithOverrides):
            return await self._flags.effective_mode(domain)
        return (await self._flags.get(domain)).mode

    async def _rollback(self, decision: Decision, mode: Mode) -> None:
        domain, to_mode = decision.domain, step_back(mode)
        assert decision.rollback is not None
        reason = f"guard: {decision.rollback.explain()}"
        extra = _extra(decision, mode, to_mode, dry_run=False)
        inner = self._flags
        if isinstance(self._flags, FlagsWithOverrides):
            inner = self._flags.inner
            audit = not inner.audit_in_database
            await self._flags.override(
                domain, to_mode, reason=reason, actor=ACTOR, extra=extra, audit=audit
            )
        await self._set_provider(inner, domain, to_mode, reason, extra)
        self.rollbacks.labels(domain, mode, to_mode).inc()
        structlog.get_logger().warning(
            "guard.rollback", domain=domain, from_mode=mode, to_mode=to_mode, reason=reason,
            figures=extra["figures"],
        )  # fmt: skip

    async def _dry_run(self, decision: Decision, mode: Mode) -> None:
        """Record, log and count what a rollback would have done; change nothing."""
        domain, to_mode = decision.domain, step_back(mode)
        assert decision.rollback is not None
        reason = (
            f"guard (dry run, nothing changed): would roll back {mode} to {to_mode}: "
            f"{decision.rollback.explain()}"
        )
        extra = _extra(decision, mode, to_mode, dry_run=True)
        if isinstance(self._flags, FlagsWithOverrides):
            try:
                await self._flags.note(domain, reason=reason, actor=ACTOR, extra=extra)
            except (FlagError, FlagSourceUnavailable) as exc:
                structlog.get_logger().info("guard.dry_run_unrecorded", error=str(exc))
        self.dry_runs.labels(domain, mode, to_mode).inc()
        structlog.get_logger().warning(
            "guard.dry_run", domain=domain, from_mode=mode, to_mode=to_mode, reason=reason,
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


def _extra(decision: Decision, mode: Mode, to_mode: Mode, *, dry_run: bool) -> dict[str, Any]:
    return {
        "figures": decision.figures(),
        "from_mode": mode,
        "to_mode": to_mode,
        "dry_run": dry_run,
    }


def thresholds_from(
    settings: Any, domains: Sequence[str]
) -> tuple[Thresholds, dict[str, Thresholds]]:
    """The default thresholds and each overridden domain's, from ``DUALPATH_GUARD_*``."""
    names = [f.name for f in fields(Thresholds)]
    default = Thresholds(**{name: getattr(settings, f"guard_{name}") for name in names})
    overrides = parse_threshold_overrides(settings.guard_overrides)
    unknown = sorted(set(overrides) - set(domains))
    if unknown:
        raise ValueError(f"guard overrides name unknown domains: {', '.join(unknown)}")
    return default, {d: default.with_overrides(o) for d, o in overrides.items()}


def build_guard(
    settings: Any, flags: FlagProvider, engine: ShadowEngine, registry: CollectorRegistry,
    domains: Sequence[str], database_url: str | None = None,
    errors: ErrorMeanings = NO_MEANINGS,
) -> Guard:  # fmt: skip
    """A guard fed by ``engine``'s Results; not started. Its :meth:`Guard.layer` goes in the
    dispatch chain, where it counts every ``async`` call."""
    default, per_domain = thresholds_from(settings, domains)
    record = None
    if database_url is not None and settings.guard_record:
        record = GuardRecord(database_url, settings.guard_record_hours * 3600)
    guard = Guard(
        flags, domains, per_domain, registry=registry, interval_s=settings.guard_interval_s,
        default=default, record=record, per_second=settings.guard_calls_per_second,
        errors=errors,
    )  # fmt: skip
    engine.add_listener(guard.on_result)
    return guard
