"""The shadow runner: serves ``shadow`` and ``live`` by running both paths and comparing them.

- ``runner``: :class:`ShadowRunner`, what the router plugs in;
- ``reads`` / ``writes``: how a shadowed read and a shadowed write are run;
- ``transactions``: one path's unit of work around a write (committed primary, rolled-back
  shadow); ``sides``: what one side of a call ended with (:class:`Outcome`);
- ``admission``: slots, primaries first (``preemption``) and the ``write_watch``;
- ``plans`` / ``rows``: what a write captures and restores, and its SQL;
- ``judge``: the engine Protocol and the comparison step; ``config``: limits and skip reasons;
- ``checks``: what installing the runner checks of the write declarations.
- ``calibration``: the A/A runs, the primary's own path again on a sampled share of calls.

The design is described in ``docs/shadowing.md``.
"""

from __future__ import annotations

from routing.shadowing.calibration import CalibrationConfig
from routing.shadowing.checks import DeclarationError
from routing.shadowing.config import DEFAULTS, RunnerConfig, ShadowMode, Skip
from routing.shadowing.judge import Engine
from routing.shadowing.plans import ShadowWrites
from routing.shadowing.rows import Entity, RowGroup
from routing.shadowing.runner import ShadowRunner
from routing.shadowing.sides import Outcome

__all__ = [
    "DEFAULTS",
    "CalibrationConfig",
    "DeclarationError",
    "Engine",
    "Entity",
    "Outcome",
    "RowGroup",
    "RunnerConfig",
    "ShadowMode",
    "ShadowRunner",
    "ShadowWrites",
    "Skip",
]
