"""A decision table compiled from flag states: the per-call answer, in a few dict lookups.

The router asks for a mode on every persistence call, so nothing here allocates beyond the
hash input string, and the common cases (domain unknown, 0 % or 100 %) never hash at all.
Caching the bucket per ``(domain, key)`` was measured and not done: mmh3 of a short string
costs about 0.2 us, a lookup keyed by a ``(domain, key)`` tuple about 0.13 us, and keeping
the cache bounded over an open set of keys would cost more than the difference.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import NamedTuple

import mmh3

from flags.model import SAFE_MODE, FlagState, Mode, flag_name


class _Entry(NamedTuple):
    mode: Mode
    percent: int
    services: frozenset[str] | None
    prefix: str
    random_only: bool


class DecisionTable:
    """Answers ``mode_for(domain, key, service)`` from states compiled ahead of time."""

    __slots__ = ("_entries", "states")

    def __init__(self, states: Mapping[str, FlagState]) -> None:
        self.states: dict[str, FlagState] = dict(states)
        self._entries: dict[str, _Entry] = {
            domain: _compile(state) for domain, state in states.items() if _routes(state)
        }

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call; ``legacy`` for unknown domains and keys outside the rollout."""
        entry = self._entries.get(domain)
        if entry is None:
            return SAFE_MODE
        if entry.services is not None and service not in entry.services:
            return SAFE_MODE
        if entry.percent >= 100:
            return entry.mode
        if key is None or entry.random_only:
            chosen = int(random.random() * 100) + 1
        else:
            chosen = mmh3.hash(entry.prefix + key, 0, signed=False) % 100 + 1
        return entry.mode if chosen <= entry.percent else SAFE_MODE


EMPTY = DecisionTable({})


def _routes(state: FlagState) -> bool:
    """Only states that can send a call off the legacy path need an entry."""
    return state.mode != SAFE_MODE and state.percent > 0 and state.services != frozenset()


def _compile(state: FlagState) -> _Entry:
    group_id = state.group_id or flag_name(state.domain)
    return _Entry(
        mode=state.mode,
        percent=state.percent,
        services=state.services,
        prefix=f"{group_id}:",
        random_only=state.stickiness == "random",
    )
