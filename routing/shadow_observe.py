"""The runner's last step: wait for the shadow (within its time), then let the engine judge.

Runs in a background task, off the caller's path. Everything that goes wrong here is logged
and swallowed, except ``DivergenceError`` in test mode (raised by the engine when it is in
test mode itself, or here when only the runner is), which the runner raises in the caller.
An infrastructure failure is logged as one outage (``shadow.runner_unavailable``, then
``shadow.runner_recovered``), anything else as an error with its traceback, rate-limited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from observability import Outage, is_infrastructure, report_error
from routing.readback import effects
from routing.shadow_paths import Done
from shadow.engine import DivergenceError
from shadow.normalise import normalise
from shadow.observation import Observation

__all__ = ["Observer", "snapshot"]

_IMMUTABLE = (type(None), bool, int, float, str, bytes)

_clock = time.perf_counter
PRIMARY_PATH = {"shadow": "legacy", "live": "async"}
SHADOW_PATH = {"shadow": "async", "live": "legacy"}


class _Engine(Protocol):
    def observe(
        self,
        operation: Any,
        primary: Observation,
        shadow: Observation,
        *,
        mode: str,
        inputs: Mapping[str, Any] | None = None,
        timed_out: bool = False,
    ) -> Any: ...


class _Spec(Protocol):
    @property
    def ignore_fields(self) -> frozenset[str]: ...


class Observer:
    """Turns two ``Done`` s into observations for the engine, counting what it compared."""

    def __init__(
        self, engine: _Engine, shadow_timeout_s: float, raise_on_divergence: bool = False
    ) -> None:
        self.engine = engine
        self.timeout_s = shadow_timeout_s
        self.raise_on_divergence = raise_on_divergence
        self.compared = 0
        self.outage = Outage("shadow.runner", settle_s=1.0)

    @staticmethod
    def with_arguments(done: Done, arguments: Any) -> Done:
        """``done`` with the state of the call's arguments after it."""
        return dataclasses.replace(done, arguments=arguments)

    async def compare(
        self,
        operation: Any,
        mode: str,
        primary: Done,
        shadow: asyncio.Future[Done],
        started: float,
        inputs: Mapping[str, Any],
        skipped: Counter[str] | None = None,
    ) -> None:
        """Wait for ``shadow`` until ``started`` + the timeout, then observe both sides.

        If either side is marked ``skipped`` (a shadow write that gave up, a read that raced
        with a write) there is nothing to compare; the reason is counted in ``skipped``.
        """
        try:
            await self._compare(operation, mode, primary, shadow, started, inputs, skipped)
        except DivergenceError:
            raise
        except Exception as exc:
            name = getattr(operation, "name", "?")
            if is_infrastructure(exc):
                self.outage.failed(exc, operation=name)
            else:
                report_error("shadow.runner_failed", exc, operation=name)

    async def _compare(
        self,
        operation: Any,
        mode: str,
        primary: Done,
        shadow_future: asyncio.Future[Done],
        started: float,
        inputs: Mapping[str, Any],
        skipped: Counter[str] | None,
    ) -> None:
        remaining = max(self.timeout_s - (_clock() - started), 0.0)
        timed_out = False
        try:
            shadow = await asyncio.wait_for(shadow_future, remaining)
        except TimeoutError:
            shadow, timed_out = Done(duration_s=self.timeout_s), True
        reason = shadow.skipped or primary.skipped
        if reason is not None:
            if skipped is not None:
                skipped[reason] += 1
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
        )
        if self.raise_on_divergence and getattr(result, "mismatched", False):
            raise DivergenceError(result)


def snapshot(done: Done) -> Done:
    """``done`` with its value frozen as plain data, taken before the caller gets the value.

    The caller owns the object the primary returned and may change it (move a player, apply
    damage to it) before the comparison runs in the background; comparing that object then
    would report the caller's change as a divergence.
    """
    if isinstance(done.value, _IMMUTABLE):
        return done
    return dataclasses.replace(done, value=normalise(done.value))


def observation(path: str, done: Done, operation: _Spec) -> Observation:
    """What one path did, as the engine takes it."""
    return Observation(
        path, done.value, done.error, done.duration_s, _effects(done, operation), done.events
    )


def _effects(done: Done, operation: _Spec) -> Any:
    out: dict[str, Any] = {}
    if done.after is not None:
        out.update(effects(done.after, frozenset(operation.ignore_fields)))
    if done.arguments is not None:
        out["arguments"] = done.arguments
    return out or None
