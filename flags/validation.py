"""Check a requested flag change before any provider writes it.

Free text is bounded and printable: a service name is an identifier (``SERVICE_NAME``, at
most ``SERVICE_MAX`` characters), a reason or an actor at most ``TEXT_MAX`` characters with no
control character, and no text holds an unpaired surrogate (it cannot be encoded as UTF-8).
The HTTP API and the command line apply these same functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from flags.model import MODES, FlagError, FlagState, Mode

SERVICE_MAX = 64
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
TEXT_MAX = 500


def check_service_name(name: object) -> str:
    """``name`` if it is a printable identifier of at most ``SERVICE_MAX`` characters."""
    if not isinstance(name, str) or not SERVICE_NAME.fullmatch(name) or len(name) > SERVICE_MAX:
        raise FlagError(
            f"a service name is 1 to {SERVICE_MAX} letters, digits, '_', '.', ':' or '-',"
            f" starting with a letter or digit; got {_shown(name)}"
        )
    return name


def check_printable(value: str, what: str, max_length: int = TEXT_MAX) -> str:
    """``value`` if it has at most ``max_length`` characters, none a control character or an
    unpaired surrogate, else ``FlagError`` naming ``what``."""
    if len(value) > max_length:
        raise FlagError(f"{what} must be at most {max_length} characters, got {len(value)}")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise FlagError(f"{what} holds an unpaired surrogate (U+{ord(char):04X})")
        if category == "Cc":
            raise FlagError(f"{what} holds a control character (U+{ord(char):04X})")
    return value


def _shown(value: object) -> str:
    """``value`` for an error message: its repr, surrogates escaped, cut at 80 characters."""
    text = repr(value).encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return text if len(text) <= 80 else text[:77] + "..."


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
        raise FlagError(f"unknown domain {_shown(domain)}; known domains: {', '.join(domains)}")
    return domain


def check_mode(mode: str) -> Mode:
    """``mode`` if it is one of the four modes, else ``FlagError``: where text becomes a Mode."""
    for known in MODES:
        if mode == known:
            return known
    raise FlagError(f"unknown mode {_shown(mode)}; expected one of: {', '.join(MODES)}")


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
    for name in names:
        check_service_name(name)
    return names


def check_text(value: object, what: str) -> str:
    """``value`` stripped, if it is a non-empty printable string (``check_printable``)."""
    if not isinstance(value, str) or not value.strip():
        raise FlagError(f"{what} must be a non-empty string, got {_shown(value)}")
    return check_printable(value.strip(), what)


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
