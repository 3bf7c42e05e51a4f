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
``domains`` (``DUALPATH_CALIBRATION_DOMAINS``).
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.registry import Operation
from routing.shadowing.config import ShadowMode
from routing.shadowing.judge import PRIMARY_PATH, Judge, observation
from routing.shadowing.sides import Args, Outcome

__all__ = ["Calibration", "CalibrationConfig", "swapped"]

_clock = time.perf_counter

#: Starts a shadow of the given mode: the primary's own path when the mode is swapped.
StartShadow = Callable[[ShadowMode], "asyncio.Future[Outcome]"]


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """The percent of shadowed calls calibrated (0 to 100), and per-domain percents over it."""

    percent: float = 1.0
    domains: Mapping[str, float] = field(default_factory=dict)

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
    ) -> None:
        self.config = config
        self._judge = judge
        self._draw = draw
        self._calibrate = getattr(judge.engine, "calibrate", None)
        self.calibrated = 0

    def sampled(self, operation: Operation) -> bool:
        """Whether this call of ``operation`` is calibrated."""
        if self._calibrate is None or (operation.kind == "read" and operation.mutates_arguments):
            return False
        percent = self.config.percent_for(operation.domain)
        return percent > 0 and self._draw() * 100.0 < percent

    @staticmethod
    def arguments(operation: Operation, inputs: Mapping[str, Any]) -> Args:
        """The second run's own arguments: a copy of the recorded inputs if the call mutates."""
        args, kwargs = inputs["args"], inputs["kwargs"]
        if operation.mutates_arguments:
            return copy.deepcopy(args), copy.deepcopy(kwargs)
        return args, kwargs

    async def run(
        self, operation: Operation, mode: ShadowMode, primary: Outcome, start: StartShadow
    ) -> None:
        """Run the primary's path again as a shadow and let the engine count the A/A pair."""
        started = _clock()
        second = start(swapped(mode))
        remaining = max(self._judge.timeout_s - (_clock() - started), 0.0)
        try:
            outcome = await asyncio.wait_for(second, remaining)
        except TimeoutError:
            return
        except Exception:  # the second run's own failure is not the caller's, nor a verdict
            return
        if outcome.skipped is not None or outcome.timed_out or self._calibrate is None:
            return
        path = PRIMARY_PATH[mode]
        self.calibrated += 1
        self._calibrate(
            operation,
            observation(path, primary, operation),
            observation(path, outcome, operation),
            mode=mode,
        )
