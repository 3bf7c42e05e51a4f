"""A/A calibration: on a sampled share of calls, the primary's own path runs again as a shadow.

In ``shadow`` mode that is legacy against legacy, in ``live`` async against async. The second
run is an ordinary shadow of the primary's path (``start_shadow`` with the modes swapped): a
read runs again, a write runs again in the rolled-back transaction every shadow write uses,
on the primary's captured starting rows, so nothing of it commits and none of its events is
published. It runs after the A/B comparison, in the same background task, and takes a shadow
slot like any shadow (none free: not calibrated). The engine compares the two runs as usual
but counts them apart (``ShadowEngine.calibrate``): they are never recorded as divergences,
never counted in the rollup, never seen by the guard. Reads that update their argument are
not calibrated (the argument's state after the primary is not the state before it).

The share is ``CalibrationConfig.percent`` (``DUALPATH_CALIBRATION_PERCENT``), per domain
``domains`` (``DUALPATH_CALIBRATION_DOMAINS``). An operation with fewer A/A runs than
``warmup`` (``DUALPATH_CALIBRATION_WARMUP``) is warming up: every shadowed call of it is
calibrated, so a fresh start reaches a noise verdict within a few dozen calls. With a judge
to tell it (``known``: the runs in the store, every process's, as of the last judgement), the
warm-up ends only once a judgement has seen ``warmup`` runs: when it ends, calibration's
verdicts are made, and a mismatch at a path judged noise is held for its group's judgement
(``shadow.engine``) rather than counted. Without one, the runs counted here decide. A domain at
0 % is not calibrated at all, warm-up included; ``warmup`` 0 turns the warm-up off.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.registry import Operation
from routing.shadowing.config import ShadowMode
from routing.shadowing.judge import PRIMARY_PATH, Judge, observation
from routing.shadowing.sides import Args, Outcome
from shadow.engine import WARMING
from shadow.observation import Result

__all__ = ["Calibration", "CalibrationConfig", "compare_and_calibrate", "finished", "swapped"]

_clock = time.perf_counter

#: Starts a shadow of the given mode: the primary's own path when the mode is swapped.
StartShadow = Callable[[ShadowMode], "asyncio.Future[Outcome]"]


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """The percent of shadowed calls calibrated (0 to 100), per-domain percents over it, and
    the A/A runs an operation is calibrated on every call until it has (its warm-up)."""

    percent: float = 1.0
    domains: Mapping[str, float] = field(default_factory=dict)
    warmup: int = 0

    def percent_for(self, domain: str) -> float:
        """The percent that applies to ``domain``."""
        return self.domains.get(domain, self.percent)


def swapped(mode: ShadowMode) -> ShadowMode:
    """The mode whose shadow is ``mode``'s primary path."""
    return "live" if mode == "shadow" else "shadow"


class Calibration:
    """Decides which calls are calibrated and hands each A/A pair to the engine."""

    def __init__(
        self,
        config: CalibrationConfig,
        judge: Judge,
        draw: Callable[[], float] = random.random,
        known: Callable[[str, str], int] | None = None,
    ) -> None:
        self.config = config
        self._judge = judge
        self._draw = draw
        self._calibrate = getattr(judge.engine, "calibrate", None)
        self.calibrated = 0
        #: The A/A runs compared in this process, per (domain, operation).
        self.runs: Counter[tuple[str, str]] = Counter()
        #: The A/A runs the store knows of, per (domain, operation), as of the last judgement
        #: (``None``: no judge tells it, the runs counted here decide the warm-up).
        self.known = known

    def sampled(self, operation: Operation) -> bool:
        """Whether this call of ``operation`` is calibrated."""
        if not self._calibrable(operation):
            return False
        return self._warming(operation) or self._draw() * 100.0 < self._percent(operation)

    def warming(self, operation: Operation) -> bool:
        """Whether ``operation`` is calibrated and has fewer A/A runs than the warm-up."""
        return self._calibrable(operation) and self._warming(operation)

    def runs_of(self, operation: Operation) -> int:
        """The A/A runs of ``operation`` that count for its warm-up.

        Those the store knew of at the last judgement when a judge tells them, else those
        seen here.
        """
        key = (operation.domain, operation.name)
        if self.known is None:
            return self.runs[key]
        return self.known(*key)

    def _warming(self, operation: Operation) -> bool:
        return self.config.warmup > 0 and self.runs_of(operation) < self.config.warmup

    def _percent(self, operation: Operation) -> float:
        return self.config.percent_for(operation.domain)

    def _calibrable(self, operation: Operation) -> bool:
        if self._calibrate is None or (operation.kind == "read" and operation.mutates_arguments):
            return False
        return self._percent(operation) > 0

    @staticmethod
    def arguments(operation: Operation, inputs: Mapping[str, Any]) -> Args:
        """The second run's own arguments: a copy of the recorded inputs if the call mutates."""
        args, kwargs = inputs["args"], inputs["kwargs"]
        if operation.mutates_arguments:
            return copy.deepcopy(args), copy.deepcopy(kwargs)
        return args, kwargs

    async def run(
        self, operation: Operation, mode: ShadowMode, primary: Outcome, start: StartShadow
    ) -> Result | None:
        """Run the primary's path again as a shadow and let the engine count the A/A pair.

        The A/A comparison, or ``None`` when there is none (no slot, a timeout, a failure).
        """
        started = _clock()
        second = start(swapped(mode))
        remaining = max(self._judge.timeout_s - (_clock() - started), 0.0)
        try:
            outcome = await asyncio.wait_for(second, remaining)
        except TimeoutError:
            return None
        except Exception:  # the second run's own failure is not the caller's, nor a verdict
            return None
        if outcome.skipped is not None or outcome.timed_out or self._calibrate is None:
            return None
        path = PRIMARY_PATH[mode]
        self.calibrated += 1
        self.runs[(operation.domain, operation.name)] += 1
        found: Result | None = self._calibrate(
            operation,
            observation(path, primary, operation),
            observation(path, outcome, operation),
            mode=mode,
        )
        return found


async def compare_and_calibrate(
    judge: Judge,
    calibration: Calibration | None,
    call: tuple[Operation, ShadowMode, Outcome, asyncio.Future[Outcome], float, Mapping[str, Any]],
    calibrate: Callable[[], Awaitable[tuple[str, ...] | None]],
) -> None:
    """Compare one shadowed call (``call``: operation, mode, primary, shadow, start, inputs),
    then run ``calibrate`` (the A/A run of a sampled call).

    While the operation warms up the A/A run goes first, once the shadow is done, so the
    comparison knows where the two A/A runs differed (``WARMING`` when there was none).
    """
    op, mode, primary, shadow, started, inputs = call
    if calibration is not None and calibration.warming(op):
        await finished(shadow, judge.timeout_s - (_clock() - started))
        aa_paths = await calibrate()
        found = WARMING if aa_paths is None else aa_paths
        await judge.compare(op, mode, primary, shadow, started, inputs, found)
        return
    await judge.compare(op, mode, primary, shadow, started, inputs)
    await calibrate()


async def finished(future: asyncio.Future[Any], timeout_s: float) -> None:
    """Wait until ``future`` is done, at most ``timeout_s``; never raises its outcome."""
    if not future.done() and timeout_s > 0:
        await asyncio.wait([future], timeout=timeout_s)
