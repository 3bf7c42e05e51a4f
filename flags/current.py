"""The flags a provider last knew: last known good per domain, and their decision table."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import structlog

from flags.decision import EMPTY, DecisionTable
from flags.model import FlagState, Mode
from flags.validation import check_domain, check_domains


class CurrentFlags:
    """Holds each known domain's flag; swaps in a freshly compiled table on every change.

    Until a provider has loaded anything, the table is empty and every call is ``legacy``.
    Updates name only the domains they resolved, so a domain the provider could not parse
    keeps its last known good state.
    """

    def __init__(self, domains: Sequence[str], provider: str) -> None:
        self.domains: tuple[str, ...] = check_domains(domains)
        self._provider = provider
        self._lock = threading.Lock()
        self._states: dict[str, FlagState] = {d: FlagState(d) for d in self.domains}
        self.table: DecisionTable = EMPTY

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call, from the current table."""
        return self.table.mode_for(domain, key, service)

    def get(self, domain: str) -> FlagState:
        """The last known state of ``domain``; ``FlagError`` if it is not a known domain."""
        return self._states[check_domain(self.domains, domain)]

    def all(self) -> list[FlagState]:
        """Every known domain's state, in the order the domains were given."""
        states = self._states
        return [states[d] for d in self.domains]

    def update(self, states: Iterable[FlagState]) -> list[tuple[FlagState, FlagState]]:
        """Apply the states of known domains; returns ``(previous, new)`` for each change."""
        with self._lock:
            changes = self._apply(states)
            self.table = DecisionTable(self._states)
        for previous, new in changes:
            _log_change(self._provider, previous, new)
        return changes

    def _apply(self, states: Iterable[FlagState]) -> list[tuple[FlagState, FlagState]]:
        changes = []
        for state in states:
            previous = self._states.get(state.domain)
            if previous is not None and previous != state:
                self._states[state.domain] = state
                changes.append((previous, state))
        return changes


def _log_change(provider: str, previous: FlagState, new: FlagState) -> None:
    structlog.get_logger().info(
        "flags.changed",
        provider=provider,
        domain=new.domain,
        previous_mode=previous.mode,
        mode=new.mode,
        percent=new.percent,
        services=sorted(new.services) if new.services is not None else None,
        actor=new.updated_by,
        reason=new.reason,
    )
