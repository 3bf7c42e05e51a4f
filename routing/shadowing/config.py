"""How the shadow runner treats its shadows, and why a call was not compared."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["DEFAULTS", "RunnerConfig", "ShadowMode", "Skip"]

#: The modes the runner serves: ``shadow`` (legacy answers) and ``live`` (async answers).
ShadowMode = Literal["shadow", "live"]


class Skip(StrEnum):
    """Why a shadowed call was not compared; counted in ``ShadowRunner.skipped``."""

    #: ``max_shadows`` shadows were running already.
    SATURATED = "saturated"
    #: A write of what a read read landed while either side ran.
    RACED = "raced"
    #: A primary write of the same entity cancelled the shadow write.
    PREEMPTED = "preempted"
    #: The shadow write found its rows locked on every attempt.
    LOCKED = "locked"
    #: The shadow write could not restore the primary's starting rows.
    RESTORE_FAILED = "restore_failed"
    #: The caller had a unit of work open on the primary path; the write ran inside it.
    IN_UNIT_OF_WORK = "in_unit_of_work"
    #: The primary could not capture the rows its write touches (a key its cast refuses, say).
    CAPTURE_FAILED = "capture_failed"


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """The runner's limits; these defaults are the only place they are stated.

    ``shadow_timeout_s``: a shadow's time budget from its start. ``lock_timeout_ms``: how long
    a shadow write may wait for a lock (1 ms: in effect, never). ``write_hold_ms``: how long
    a shadow write may hold the rows it restored. ``raise_on_divergence``: test mode, the
    caller waits for the comparison and a divergence raises in it. ``max_shadows``: how many
    shadows may run at once; more are skipped (``saturated``) rather than queued.
    """

    shadow_timeout_s: float = 2.0
    lock_timeout_ms: int = 1
    raise_on_divergence: bool = False
    max_shadows: int = 16
    write_hold_ms: int = 250

    @property
    def write_hold_s(self) -> float:
        """``write_hold_ms`` in seconds."""
        return self.write_hold_ms / 1000


#: The defaults, for whoever states a setting of its own over them (``app.settings``).
DEFAULTS = RunnerConfig()
