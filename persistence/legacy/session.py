"""How one call touches the database: a ``Session`` per call.

A call's work is a function of a ``Session`` (a dict-row cursor plus the events the call
produces). The layer runs it through the shipped units of work (``units.SyncUnits``): alone,
in its own transaction committed at the end of the call, or inside the caller's unit of work,
where its events wait for ``commit()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import units
from persistence.errors import DatabaseError

__all__ = ["Row", "Session", "Work"]

T = TypeVar("T")
Row = dict[str, Any]
Work = Callable[["Session"], T]


class Session(units.Session):
    """One call's cursor and the events it will publish once its transaction commits.

    The shipped units' ``Session`` (``one``, ``all``, ``emit``), with ``row()`` for the
    statements that always return one.
    """

    __slots__ = ()

    def row(self, query: Any, params: Any = None) -> Row:
        """The row a statement always returns (``INSERT … RETURNING``, say)."""
        row = self.one(query, params)
        if row is None:
            raise DatabaseError("the statement returned no row")
        return row
