"""The runner's last step: wait for the shadow (within its time), then let the engine judge.

Runs in a background task, off the caller's path. Everything that goes wrong here is logged
and swallowed, except ``DivergenceError`` in test mode (``raise_on_divergence``), which the
runner raises in the caller. This is the one place test mode raises. An infrastructure
failure is logged as one outage (``shadow.runner_unavailable``, then
``shadow.runner_recovered``), anything else as an error with its traceback, rate-limited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from flags.model import Mode
from observability import Outage, is_infrastructure, report_error
from routing.registry import Operation
from routing.shadowing.config import ShadowMode, Skip
from routing.shadowing.rows import effects, plain_captured
from routing.shadowing.sides import Outcome
from shadow.engine import DivergenceError
from shadow.normalise import normalise
from shadow.observation import Observation

__all__ = ["CoverageSink", "Engine", "Judge", "observation", "snapshot"]

_IMMUTABLE = (type(None), bool, int, float, str, bytes)

_clock = time.perf_counter
PRIMARY_PATH: dict[ShadowMode, str] = {"shadow": "legacy", "live": "async"}
SHADOW_PATH: dict[ShadowMode, str] = {"shadow": "async", "live": "legacy"}


class Engine(Protocol):
    """The shadow engine, as the runner uses it (``shadow.engine.ShadowEngine`` fits)."""

    def observe(
        self,
        operation: Any,
        primary: Observation,
        shadow: Observation,
        *,
        mode: Mode,
        inputs: Mapping[str, Any] | None = None,
        timed_out: bool = False,
        captured: Any = None,
        aa_paths: tuple[str, ...] | None = None,
    ) -> Any: ...


class CoverageSink(Protocol):
    """Where the runner counts each call it serves and each it does not compare.

    ``shadow.coverage.Coverage`` fits: it exports them and keeps them per minute.
    """

    def know(self, operations: Iterable[tuple[str, str]], reasons: Iterable[str]) -> None: ...
    def served(self, domain: str, operation: str) -> None: ...
    def skipped(self, domain: str, operation: str, reason: str) -> None: ...


class Judge:
    """Turns two ``Outcome`` s into observations for the engine; counts served and skipped."""

    def __init__(
        self,
        engine: Engine,
        shadow_timeout_s: float,
        raise_on_divergence: bool = False,
        coverage: CoverageSink | None = None,
    ) -> None:
        self.engine = engine
        self.timeout_s = shadow_timeout_s
        self.raise_on_divergence = raise_on_divergence
        self.coverage = coverage
        self.served = 0
        self.compared = 0
        self.skipped: Counter[Skip] = Counter()
        self.outage = Outage("shadow.runner", settle_s=1.0)

    @staticmethod
    def with_arguments(outcome: Outcome, arguments: Any) -> Outcome:
        """``outcome`` with the state of the call's arguments after it."""
        return dataclasses.replace(outcome, arguments=arguments)

    def serve(self, operation: Operation) -> None:
        """Count a call served in ``shadow`` or ``live``."""
        self.served += 1
        if self.coverage is not None:
            self.coverage.served(operation.domain, operation.name)

    def skip(self, reason: Skip, operation: Operation) -> None:
        """Count a call that was not compared, and why."""
        self.skipped[reason] += 1
        if self.coverage is not None:
            self.coverage.skipped(operation.domain, operation.name, reason.value)

    async def compare(
        self,
        operation: Operation,
        mode: ShadowMode,
        primary: Outcome,
        shadow: asyncio.Future[Outcome],
        started: float,
        inputs: Mapping[str, Any],
        aa_paths: tuple[str, ...] | None = None,
    ) -> None:
        """Wait for ``shadow`` until ``started`` + the timeout, then observe both sides.

        If either side is marked ``skipped`` there is nothing to compare; the reason is
        counted instead. ``aa_paths``: where this call's own A/A run differed, if it ran first.
        """
        try:
            await self._compare(operation, mode, primary, shadow, started, inputs, aa_paths)
        except DivergenceError:
            raise
        except Exception as exc:
            if is_infrastructure(exc):
                self.outage.failed(exc, operation=operation.name)
            else:
                report_error("shadow.runner_failed", exc, operation=operation.name)

    async def _compare(
        self,
        operation: Operation,
        mode: ShadowMode,
        primary: Outcome,
        shadow_future: asyncio.Future[Outcome],
        started: float,
        inputs: Mapping[str, Any],
        aa_paths: tuple[str, ...] | None = None,
    ) -> None:
        remaining = max(self.timeout_s - (_clock() - started), 0.0)
        timed_out = False
        try:
            shadow = await asyncio.wait_for(shadow_future, remaining)
        except TimeoutError:
            shadow, timed_out = Outcome(duration_s=self.timeout_s), True
        reason = shadow.skipped or primary.skipped
        if reason is not None:
            self.skip(reason, operation)
            return
        if not any(e is not None and is_infrastructure(e) for e in (primary.error, shadow.error)):
            self.outage.succeeded()  # ends only on calls where the database answered both
        self.compared += 1
        result = self.engine.observe(
            operation,
            observation(PRIMARY_PATH[mode], primary, operation),
            observation(SHADOW_PATH[mode], shadow, operation),
            mode=mode,
            inputs=inputs,
            timed_out=timed_out or shadow.timed_out,
            captured=plain_captured(primary.pre),
            **({} if aa_paths is None else {"aa_paths": aa_paths}),
        )
        if self.raise_on_divergence and result is not None and result.mismatched:
            raise DivergenceError(result)


def snapshot(outcome: Outcome) -> Outcome:
    """``outcome`` with its value frozen as plain data, taken before the caller gets the value.

    The caller owns the object the primary returned and may change it before the comparison
    runs in the background; comparing that object then would report the caller's change as a
    divergence.
    """
    if isinstance(outcome.value, _IMMUTABLE):
        return outcome
    return dataclasses.replace(outcome, value=normalise(outcome.value))


def observation(path: str, outcome: Outcome, operation: Operation) -> Observation:
    """What one path did, as the engine takes it."""
    return Observation(
        path,
        outcome.value,
        outcome.error,
        outcome.duration_s,
        _effects(outcome, operation),
        outcome.events,
    )


def _effects(outcome: Outcome, operation: Operation) -> Any:
    out: dict[str, Any] = {}
    if outcome.after is not None:
        out.update(effects(outcome.after, frozenset(operation.ignore_fields)))
    if outcome.arguments is not None:
        out["arguments"] = outcome.arguments
    return out or None
