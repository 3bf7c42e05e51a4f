"""How exceptions compare: by qualified class name, and which failures are infrastructure.

Two observations that both raised agree when their exceptions have the same class; messages
are not compared (they carry ids and driver wording). When they disagree the kind is:

* ``shadow_error`` when the shadow raised a class the primary did not and that class (or one
  of its bases) is named in the *infrastructure* set: the database, the network or a
  timeout failed under the shadow, which says nothing about the new code's logic;
* ``error_mismatch`` otherwise: one side raised and the other returned, or both raised
  different classes (a domain error like ``NotFoundError`` against ``ValidationError``, or
  an infrastructure error on the primary side only).

Infrastructure names match a class's qualified name (``myapp.errors.DatabaseError``) or its
bare name (``DatabaseError``), so other teams' trees work without importing them.

What an error *is* when compared (:func:`error_identity`): a class (or base) the application
maps to a name of its own (``ErrorMeanings.alike``) is that name; a driver's database error
(psycopg2, asyncpg, or either wrapped by SQLAlchemy) is its SQLSTATE (``sqlstate:22P02``), so
the same refusal by PostgreSQL agrees across drivers; anything else is its qualified class name.
Which classes are refusals (a rule said no: compared, but not a path's fault) and which are
infrastructure is the application's declaration (:class:`ErrorMeanings`), not ours.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shadow.observation import ERROR_MISMATCH, SHADOW_ERROR

__all__ = [
    "DEFAULT_INFRASTRUCTURE",
    "ErrorMeanings",
    "classify_errors",
    "driver_sqlstate",
    "error_identity",
    "error_lineage",
    "error_name",
]

#: Error classes that mean "the shadow's infrastructure failed", by default.
DEFAULT_INFRASTRUCTURE: Final = frozenset(
    {
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


def driver_sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver's database error (or of the one SQLAlchemy wraps), else None.

    Only the error itself and SQLAlchemy's ``orig`` are read, not the ``__cause__`` chain: an
    application's own class raised ``from`` a driver error stays that class.
    """
    for candidate in (error, getattr(error, "orig", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def error_identity(error: BaseException | None, alike: Mapping[str, str] = {}) -> str | None:
    """What ``error`` is compared as: its mapped name, ``sqlstate:XXXXX`` or its class name."""
    if error is None:
        return None
    if alike:
        for name in error_lineage(error):
            if name in alike:
                return alike[name]
    code = driver_sqlstate(error)
    return f"sqlstate:{code}" if code is not None else error_name(error)


def qualified_names(classes: Iterable[type[BaseException] | str]) -> frozenset[str]:
    """Qualified names of ``classes`` (names given as text are kept as they are)."""
    return frozenset(
        c if isinstance(c, str) else f"{c.__module__}.{c.__qualname__}" for c in classes
    )


@dataclass(frozen=True)
class ErrorMeanings:
    """What an application's errors mean to the comparison and to the guard.

    ``refusals``: classes (or qualified names) that refuse the caller's request (a rule, a
    missing entity): compared like any answer, never counted as a path's fault.
    ``infrastructure``: names whose failure under the shadow says nothing about its logic
    (added to :data:`DEFAULT_INFRASTRUCTURE`). ``alike``: class name → the name it is
    compared as, so two paths' different classes for the same refusal agree. Build one with
    :meth:`of`, which takes classes.
    """

    refusals: frozenset[str] = frozenset()
    infrastructure: frozenset[str] = DEFAULT_INFRASTRUCTURE
    alike: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        refusals: Iterable[type[BaseException] | str] = (),
        infrastructure: Iterable[type[BaseException] | str] = (),
        alike: Mapping[type[BaseException] | str, str] | None = None,
    ) -> ErrorMeanings:
        """Meanings from classes (or qualified names); infrastructure adds to the defaults."""
        mapped = {next(iter(qualified_names([k]))): v for k, v in (alike or {}).items()}
        return cls(
            qualified_names(refusals),
            DEFAULT_INFRASTRUCTURE | qualified_names(infrastructure),
            mapped,
        )

    def is_refusal(self, error: BaseException | None) -> bool:
        """Whether ``error`` (or one of its bases) is a declared refusal."""
        return error is not None and any(n in self.refusals for n in error_lineage(error))

    def is_fault(self, error: BaseException | None) -> bool:
        """Whether ``error`` is a failure of the path: any error but a refusal."""
        return error is not None and not self.is_refusal(error)
