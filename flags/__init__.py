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

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from flags.postgres import PostgresFlagStore
    from flags.unleash import UnleashFlags

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
    "PostgresFlagStore",
    "UnleashFlags",
    "bucket",
    "flag_name",
    "in_rollout",
    "parse_flags",
]


def __getattr__(name: str) -> Any:
    """Import the Postgres and Unleash providers on first use: their drivers load slowly."""
    if name == "PostgresFlagStore":
        from flags.postgres import PostgresFlagStore

        return PostgresFlagStore
    if name == "UnleashFlags":
        from flags.unleash import UnleashFlags

        return UnleashFlags
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
