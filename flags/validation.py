"""Check a requested flag change before any provider writes it."""

from __future__ import annotations

from collections.abc import Sequence

from flags.model import MODES, FlagError, FlagState, Mode


def check_domains(domains: Sequence[str]) -> tuple[str, ...]:
    """The known domains as a tuple; rejects a bare string, empty names and duplicates."""
    if isinstance(domains, str):
        raise FlagError(f"domains must be a sequence of names, not the string {domains!r}")
    names = tuple(domains)
    if any(not isinstance(name, str) or not name.strip() for name in names):
        raise FlagError(f"every domain must be a non-empty string, got {names!r}")
    if len(set(names)) != len(names):
        raise FlagError(f"duplicate domains in {names!r}")
    return names


def check_domain(domains: Sequence[str], domain: str) -> str:
    """``domain`` if it is one of ``domains``, else ``FlagError``."""
    if domain not in domains:
        raise FlagError(f"unknown domain {domain!r}; known domains: {', '.join(domains)}")
    return domain


def check_mode(mode: str) -> Mode:
    """``mode`` if it is one of the four modes, else ``FlagError``: where text becomes a Mode."""
    for known in MODES:
        if mode == known:
            return known
    raise FlagError(f"unknown mode {mode!r}; expected one of: {', '.join(MODES)}")


def check_percent(percent: object) -> int:
    """``percent`` if it is an int from 0 to 100 (not a bool, not a float), else ``FlagError``."""
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise FlagError(f"percent must be an integer from 0 to 100, got {percent!r}")
    if not 0 <= percent <= 100:
        raise FlagError(f"percent must be from 0 to 100, got {percent}")
    return percent


def check_services(services: Sequence[str] | None) -> frozenset[str] | None:
    """The services as a frozenset, or None for every service."""
    if services is None:
        return None
    if isinstance(services, str):
        raise FlagError(f"services must be a list of names, not the string {services!r}")
    names = frozenset(services)
    if not names:
        raise FlagError("services must name at least one service; use None for every service")
    if any(not isinstance(name, str) or not name.strip() for name in names):
        raise FlagError(f"every service must be a non-empty string, got {sorted(names)!r}")
    return names


def check_text(value: object, what: str) -> str:
    """``value`` stripped, if it is a non-empty string, else ``FlagError``."""
    if not isinstance(value, str) or not value.strip():
        raise FlagError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def check_change(
    domains: Sequence[str],
    domain: str,
    mode: Mode,
    *,
    percent: object,
    services: Sequence[str] | None,
    reason: object,
    actor: object,
) -> FlagState:
    """The state a valid change would produce, or ``FlagError`` naming what is wrong.

    ``mode`` is checked again: a caller without a type checker may pass any string.
    """
    return FlagState(
        domain=check_domain(domains, domain),
        mode=check_mode(mode),
        percent=check_percent(percent),
        services=check_services(services),
        reason=check_text(reason, "reason"),
        updated_by=check_text(actor, "actor"),
    )
