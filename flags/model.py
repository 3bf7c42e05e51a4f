"""The value a flag holds, and the interface every flag provider satisfies.

A provider keeps the current flags in memory and answers ``mode_for`` without I/O, so the
router can ask it on every call. Management calls (``set``, ``get``, ``list``, ``history``)
may do I/O and may raise; ``mode_for`` never raises.

The override layer (``flags.overrides``) is a ``FlagsWithOverrides``: a provider with the
guard's caps on top. Code that may hold either asks ``overrides_in_force`` or ``override_of``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

from observability import mask_secrets

Mode = Literal["legacy", "shadow", "live", "async"]
MODES: tuple[Mode, ...] = ("legacy", "shadow", "live", "async")
SAFE_MODE: Mode = "legacy"


class FlagError(ValueError):
    """A flag change was rejected: unknown domain or mode, percent out of range, and so on."""


class FlagSourceUnavailable(RuntimeError):
    """The source of flags (database, Unleash) could not be reached for a management call.

    Its message is masked (``observability.mask_secrets``): it quotes driver errors.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


@dataclass(frozen=True, slots=True)
class FlagState:
    """One domain's flag: its mode, the percent of entity keys that get it, and the services."""

    domain: str
    mode: Mode = SAFE_MODE
    percent: int = 100
    services: frozenset[str] | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    reason: str | None = None
    group_id: str | None = None
    stickiness: str = "default"

    @property
    def flag_name(self) -> str:
        """The flag's name outside dualpath, as in Unleash: ``dualpath.<domain>``."""
        return flag_name(self.domain)

    def same_decision(self, other: FlagState) -> bool:
        """True when both states route every call the same way, whatever their metadata."""
        return (self.mode, self.percent, self.services, self.group_id, self.stickiness) == (
            other.mode,
            other.percent,
            other.services,
            other.group_id,
            other.stickiness,
        )


def flag_name(domain: str) -> str:
    """The flag that steers ``domain``: ``dualpath.<domain>``."""
    return f"dualpath.{domain}"


@dataclass(frozen=True, slots=True)
class FlagChange:
    """One row of the flag audit log."""

    id: int
    domain: str
    mode: Mode
    percent: int
    services: tuple[str, ...] | None
    reason: str
    actor: str
    changed_at: datetime
    previous_mode: Mode | None = None
    forced: bool = False
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Override:
    """A cap on one domain's mode: no call of ``domain`` goes above ``mode``."""

    domain: str
    mode: Mode
    reason: str
    actor: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class FlagProvider(Protocol):
    """What the router and the composition root need from a source of flags."""

    name: str

    @property
    def available(self) -> bool:
        """True while the provider follows its source; a source that cannot fail always is."""
        ...

    @property
    def audit_in_database(self) -> bool:
        """True when ``set`` writes the ``flag_audit`` row itself (the PostgreSQL store)."""
        ...

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call; in memory, never raises, ``legacy`` when unsure."""
        ...

    async def start(self) -> None:
        """Load the flags and begin following changes."""
        ...

    async def close(self) -> None:
        """Stop following changes and release connections."""
        ...

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
        """Change a domain's flag, or raise ``FlagError`` and change nothing.

        A jump past the next mode needs ``forced`` (``flags.transitions``); ``extra`` is kept
        with the audit row.
        """
        ...

    async def get(self, domain: str) -> FlagState:
        """The flag of one domain as the provider last knew it."""
        ...

    async def list(self) -> list[FlagState]:
        """Every known domain's flag."""
        ...

    async def history(
        self, domain: str | None = None, limit: int = 100
    ) -> builtins.list[FlagChange]:
        """The audit log, newest first."""
        ...


@runtime_checkable
class FlagsWithOverrides(FlagProvider, Protocol):
    """A provider with the guard's local overrides on top (``flags.overrides.OverriddenFlags``).

    The PostgreSQL, Unleash and environment providers do not have these: they are sources of
    flags, and the override layer wraps whichever one is configured.
    """

    @property
    def inner(self) -> FlagProvider:
        """The wrapped provider, where the flags themselves are kept."""
        ...

    def overrides(self) -> dict[str, Override]:
        """The overrides in force, by domain."""
        ...

    def override_for(self, domain: str) -> Override | None:
        """The override of ``domain``, or None."""
        ...

    async def effective_mode(self, domain: str) -> Mode:
        """The domain's flag mode as capped by its override."""
        ...

    async def override(
        self,
        domain: str,
        mode: Mode,
        *,
        reason: str,
        actor: str,
        extra: Mapping[str, object] | None = None,
        audit: bool = True,
    ) -> Override:
        """Cap ``domain`` at ``mode`` in every process."""
        ...

    async def note(
        self, domain: str, *, reason: str, actor: str, extra: Mapping[str, object]
    ) -> None:
        """An audit row that changes nothing (the guard's dry runs)."""
        ...


def overrides_in_force(flags: FlagProvider) -> dict[str, Override]:
    """The overrides ``flags`` applies, by domain: none without the override layer."""
    return flags.overrides() if isinstance(flags, FlagsWithOverrides) else {}


def override_of(flags: FlagProvider | None, domain: str) -> Override | None:
    """The override that holds ``domain`` back, or None (also without the override layer)."""
    return flags.override_for(domain) if isinstance(flags, FlagsWithOverrides) else None
