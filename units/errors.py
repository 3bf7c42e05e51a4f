"""The units of work's own errors; the tree is drawn in ``units/__init__.py``."""

from __future__ import annotations

__all__ = ["UnitAlreadyOpen", "UnitClosed", "UnitError", "UnitFailed"]


class UnitError(Exception):
    """Base of the units of work's errors."""


class UnitAlreadyOpen(UnitError):
    """A unit of work is already open on these units in this context."""


class UnitFailed(UnitError):
    """A statement failed in this unit of work; it can only roll back."""


class UnitClosed(UnitError, RuntimeError):
    """The unit of work has ended, or its units were closed (also a ``RuntimeError``)."""
