"""How exceptions compare: by qualified class name, and which failures are infrastructure.

Two observations that both raised agree when their exceptions have the same class; messages
are not compared (they carry ids and driver wording). When they disagree the kind is:

* ``shadow_error`` when the shadow raised a class the primary did not and that class (or one
  of its bases) is named in the *infrastructure* set: the database, the network or a
  timeout failed under the shadow, which says nothing about the new code's logic;
* ``error_mismatch`` otherwise: one side raised and the other returned, or both raised
  different classes (a domain error like ``NotFoundError`` against ``ValidationError``, or
  an infrastructure error on the primary side only).

Infrastructure names match a class's qualified name (``persistence.errors.DatabaseError``)
or its bare name (``DatabaseError``), so other teams' trees work without importing them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

from shadow.observation import ERROR_MISMATCH, SHADOW_ERROR

__all__ = [
    "DEFAULT_INFRASTRUCTURE",
    "classify_errors",
    "error_lineage",
    "error_name",
]

#: Error classes that mean "the shadow's infrastructure failed", by default.
DEFAULT_INFRASTRUCTURE: Final = frozenset(
    {
        "persistence.errors.DatabaseError",
        "builtins.TimeoutError",
        "builtins.ConnectionError",
        "asyncpg.exceptions._base.InterfaceError",
        "asyncpg.exceptions.PostgresConnectionError",
        "sqlalchemy.exc.OperationalError",
        "sqlalchemy.exc.InterfaceError",
        "psycopg2.OperationalError",
        "psycopg2.InterfaceError",
    }
)


def error_name(error: BaseException | None) -> str | None:
    """The qualified class name of ``error`` (``module.QualName``), or ``None``."""
    if error is None:
        return None
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


def error_lineage(error: BaseException) -> tuple[str, ...]:
    """The qualified names of ``error``'s class and its exception bases, nearest first."""
    return tuple(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in type(error).__mro__
        if issubclass(cls, BaseException)
    )


def classify_errors(
    primary: str | None,
    shadow: str | None,
    infrastructure: Collection[str] = DEFAULT_INFRASTRUCTURE,
    shadow_lineage: Iterable[str] = (),
) -> str | None:
    """The kind for two error class names (``None`` for no error), or ``None`` if they agree.

    ``shadow_lineage`` lists the shadow error's base classes too, so that a subclass of an
    infrastructure class counts as infrastructure.
    """
    if primary == shadow:
        return None
    if shadow is not None and _is_infrastructure((shadow, *shadow_lineage), infrastructure):
        return SHADOW_ERROR
    return ERROR_MISMATCH


def _is_infrastructure(names: Iterable[str], infrastructure: Collection[str]) -> bool:
    return any(n in infrastructure or n.rpartition(".")[2] in infrastructure for n in names)
