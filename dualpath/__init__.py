"""dualpath's public API for a team that routes its own domains; ``docs/adopting.md`` uses it.

- declare the operations: :func:`declare`, :class:`Declarations`, :class:`Entity`,
  :class:`RowGroup`, :class:`ErrorMeanings`;
- give each path a unit of work: :class:`SyncUnits` (psycopg2), :class:`AsyncUnits`
  (asyncpg), :class:`Session`, :class:`UnitAlreadyOpen`;
- open the system: :func:`open_system` with :class:`Settings`; the :class:`System` it yields
  has the router, the flags, the divergences and the shadow runner;
- what can go wrong at start-up: :class:`DeclarationError`; what a call may be skipped for:
  :class:`Skip`; which call is whose: :func:`calling_service`.

Everything here is also importable from where it lives; these names are the ones kept stable.
"""

from __future__ import annotations

from app.bootstrap import System, open_system
from app.settings import Settings
from routing.declarations import Declaration, Declarations, declare
from routing.services import calling_service
from routing.shadowing import DeclarationError, Entity, RowGroup, Skip
from shadow.errors import ErrorMeanings
from units import AsyncUnits, Session, SyncUnits, UnitAlreadyOpen, UnitFailed

__all__ = [
    "AsyncUnits",
    "Declaration",
    "DeclarationError",
    "Declarations",
    "Entity",
    "ErrorMeanings",
    "RowGroup",
    "Session",
    "Settings",
    "Skip",
    "SyncUnits",
    "System",
    "UnitAlreadyOpen",
    "UnitFailed",
    "calling_service",
    "declare",
    "open_system",
]
