"""Which failures are expected infrastructure failures: the database, the network, timeouts.

They are logged as outages (:class:`~observability.outage.Outage`), not as errors with a
traceback. Names match a class's qualified name or its bare name, so the set needs none of
the drivers imported; an error counts if its class, one of its bases, or the error it was
raised from (``raise … from exc``) is named.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

__all__ = ["INFRASTRUCTURE", "is_infrastructure"]

INFRASTRUCTURE: Final = frozenset(
    {
        "persistence.errors.DatabaseError",
        "flags.model.FlagSourceUnavailable",
        "builtins.TimeoutError",
        "builtins.OSError",
        "asyncpg.exceptions._base.InterfaceError",
        # asyncpg's protocol left mid-operation by a connection the server dropped
        "asyncpg.exceptions._base.InternalClientError",
        "asyncpg.exceptions.PostgresConnectionError",
        "asyncpg.exceptions.OperatorInterventionError",
        "asyncpg.exceptions.CannotConnectNowError",
        "sqlalchemy.exc.OperationalError",
        "sqlalchemy.exc.InterfaceError",
        "psycopg2.OperationalError",
        "psycopg2.InterfaceError",
    }
)

_MAX_CAUSES = 8


def is_infrastructure(error: BaseException, names: Collection[str] = INFRASTRUCTURE) -> bool:
    """Whether ``error`` (or what it was raised from) is a named infrastructure failure."""
    seen: BaseException | None = error
    for _ in range(_MAX_CAUSES):
        if seen is None:
            return False
        if _named(seen, names):
            return True
        seen = seen.__cause__
    return False


def _named(error: BaseException, names: Collection[str]) -> bool:
    for cls in type(error).__mro__:
        if f"{cls.__module__}.{cls.__qualname__}" in names or cls.__name__ in names:
            return True
    return False
