"""Flags from one string, such as the ``DUALPATH_FLAGS`` environment variable; read-only.

The format is a comma-separated list of ``domain=mode[:percent]``, for example
``"player=async,health=shadow:25"``. Domains not named run ``legacy``. The string is parsed
once, at construction, and a bad entry raises ``FlagError`` there, so a typo stops the
service at start-up instead of silently routing nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from flags.current import CurrentFlags
from flags.model import FlagChange, FlagError, FlagState, Mode
from flags.validation import check_domain, check_mode


class EnvironmentFlags:
    """A read-only provider whose flags come from a ``domain=mode[:percent],…`` string."""

    name = "environment"
    available = True  # a parsed string has no source to lose
    audit_in_database = False  # read-only: no change to audit

    def __init__(self, spec: str, domains: Sequence[str]) -> None:
        self._flags = CurrentFlags(domains, self.name)
        self._parsed = parse_flags(spec, self._flags.domains)
        self._flags.update(self._parsed.values())

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call; in memory, never raises."""
        return self._flags.table.mode_for(domain, key, service)

    async def start(self) -> None:
        """Nothing to load: the string was parsed at construction."""

    async def close(self) -> None:
        """Nothing to release."""

    async def set(
        self,
        domain: str,
        mode: Mode,
        *,
        percent: int = 100,
        services: Sequence[str] | None = None,
        reason: str,
        actor: str,
        forced: bool = False,
        extra: Mapping[str, object] | None = None,
    ) -> FlagState:
        """Always ``FlagError``: these flags change only by restarting with a new string."""
        raise FlagError(
            "flags from DUALPATH_FLAGS are read-only; change the variable and restart, "
            "or use the postgres or unleash flag provider"
        )

    async def get(self, domain: str) -> FlagState:
        """The flag of one domain, as parsed."""
        return self._flags.get(domain)

    async def list(self) -> list[FlagState]:
        """Every known domain's flag."""
        return self._flags.all()

    async def history(
        self, domain: str | None = None, limit: int = 100
    ) -> builtins.list[FlagChange]:
        """Always empty: a string has no history."""
        return []


def parse_flags(spec: str, domains: Sequence[str]) -> dict[str, FlagState]:
    """Parse ``domain=mode[:percent],…`` into states; ``FlagError`` naming the bad entry."""
    states: dict[str, FlagState] = {}
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        state = _parse_entry(entry, domains)
        if state.domain in states:
            raise FlagError(f"DUALPATH_FLAGS names {state.domain!r} twice (entry {entry!r})")
        states[state.domain] = state
    return states


def _parse_entry(entry: str, domains: Sequence[str]) -> FlagState:
    domain, equals, value = (part.strip() for part in entry.partition("="))
    if not equals or not domain or not value:
        raise FlagError(f"DUALPATH_FLAGS entry {entry!r} is not domain=mode[:percent]")
    mode_text, colon, percent_text = (part.strip() for part in value.partition(":"))
    try:
        check_domain(domains, domain)
        mode = check_mode(mode_text)
        percent = _parse_percent(percent_text) if colon else 100
    except FlagError as exc:
        raise FlagError(f"DUALPATH_FLAGS entry {entry!r}: {exc}") from None
    return FlagState(domain, mode, percent, updated_by="environment", reason="DUALPATH_FLAGS")


def _parse_percent(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 100:
        raise FlagError(f"percent must be an integer from 0 to 100, got {text!r}")
    return int(text)
