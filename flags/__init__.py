"""Flag providers: which persistence path (legacy, shadow, live, async) each domain takes.

Every provider satisfies ``FlagProvider``: ``mode_for`` answers from a compiled decision
table in memory and never raises; management calls (``set``, ``get``, ``list``,
``history``) may do I/O.

Exceptions::

    ValueError
    └── FlagError               a change was rejected; nothing was changed
    RuntimeError
    └── FlagSourceUnavailable   the database or Unleash could not be reached
"""

from __future__ import annotations

from flags.bucketing import bucket, in_rollout
from flags.decision import DecisionTable
from flags.environment import EnvironmentFlags, parse_flags
from flags.model import (
    MODES,
    SAFE_MODE,
    FlagChange,
    FlagError,
    FlagProvider,
    FlagSourceUnavailable,
    FlagState,
    Mode,
    flag_name,
)

__all__ = [
    "MODES",
    "SAFE_MODE",
    "DecisionTable",
    "EnvironmentFlags",
    "FlagChange",
    "FlagError",
    "FlagProvider",
    "FlagSourceUnavailable",
    "FlagState",
    "Mode",
    "bucket",
    "flag_name",
    "in_rollout",
    "parse_flags",
]
