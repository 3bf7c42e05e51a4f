"""Error classification: which error differences are bugs and which are infrastructure."""

from __future__ import annotations

import pytest

from shadow.errors import (
    DEFAULT_INFRASTRUCTURE,
    ErrorMeanings,
    classify_errors,
    error_identity,
    error_lineage,
    error_name,
)
from shadow.observation import ERROR_MISMATCH, SHADOW_ERROR

pytestmark = pytest.mark.unit

DB = "persistence.errors.DatabaseError"
NOT_FOUND = "persistence.errors.NotFoundError"
INVALID = "persistence.errors.ValidationError"
#: The MUD declares its DatabaseError as infrastructure (``app.operations.MUD``).
MUD_INFRASTRUCTURE = DEFAULT_INFRASTRUCTURE | {DB}


class TestClassifyErrors:
    """The rule: infrastructure on the shadow only is shadow_error, anything else error_mismatch."""

    @pytest.mark.parametrize(
        ("primary", "shadow", "kind"),
        [
            (None, None, None),
            (NOT_FOUND, NOT_FOUND, None),
            (DB, DB, None),
            (None, DB, SHADOW_ERROR),
            (NOT_FOUND, DB, SHADOW_ERROR),
            (None, NOT_FOUND, ERROR_MISMATCH),
            (NOT_FOUND, None, ERROR_MISMATCH),
            (NOT_FOUND, INVALID, ERROR_MISMATCH),
            (DB, None, ERROR_MISMATCH),
            (None, "builtins.TimeoutError", SHADOW_ERROR),
        ],
    )
    def test_defaults(self, primary: str | None, shadow: str | None, kind: str | None) -> None:
        assert classify_errors(primary, shadow, MUD_INFRASTRUCTURE) == kind

    def test_the_defaults_name_no_application_class(self) -> None:
        assert not any(name.startswith(("persistence.", "app.")) for name in DEFAULT_INFRASTRUCTURE)
        assert classify_errors(None, DB) == ERROR_MISMATCH

    def test_infrastructure_set_is_configurable(self) -> None:
        assert classify_errors(None, DB, infrastructure=frozenset()) == ERROR_MISMATCH
        assert classify_errors(None, NOT_FOUND, frozenset({NOT_FOUND})) == SHADOW_ERROR

    def test_bare_names_match_any_module(self) -> None:
        assert (
            classify_errors(None, "other.errors.DatabaseError", {"DatabaseError"}) == SHADOW_ERROR
        )

    def test_lineage_makes_subclasses_infrastructure(self) -> None:
        lineage = ("app.PoolExhausted", DB)
        assert classify_errors(None, "app.PoolExhausted", MUD_INFRASTRUCTURE, lineage) == (
            SHADOW_ERROR
        )


def test_error_name_is_qualified() -> None:
    class Local(Exception):
        pass

    assert error_name(KeyError("x")) == "builtins.KeyError"
    assert error_name(Local()).endswith("test_error_name_is_qualified.<locals>.Local")
    assert error_name(None) is None


def test_lineage_lists_bases_nearest_first() -> None:
    assert error_lineage(ConnectionRefusedError())[:3] == (
        "builtins.ConnectionRefusedError",
        "builtins.ConnectionError",
        "builtins.OSError",
    )


class Refused(Exception):
    """A team's own refusal."""


class OtherRefused(Exception):
    """The same refusal under another class, on the other path."""


class DriverError(Exception):
    """Stands for a driver's database error: it carries its SQLSTATE."""

    def __init__(self, message: str, **attributes: str) -> None:
        super().__init__(message)
        for name, value in attributes.items():
            setattr(self, name, value)


class Wrapped(Exception):
    """Stands for SQLAlchemy's DBAPIError: the driver's error is ``orig``."""

    def __init__(self, orig: BaseException) -> None:
        super().__init__(str(orig))
        self.orig = orig


class TestErrorIdentity:
    """Errors compare by meaning: mapped names, then SQLSTATE, then class."""

    def test_driver_errors_compare_by_sqlstate(self) -> None:
        psycopg2_like = DriverError("22P02", pgcode="22P02")
        asyncpg_like = DriverError("22P02", sqlstate="22P02")
        assert error_identity(psycopg2_like) == error_identity(asyncpg_like) == "sqlstate:22P02"
        assert error_identity(Wrapped(asyncpg_like)) == "sqlstate:22P02"
        assert error_identity(DriverError("23505", sqlstate="23505")) == "sqlstate:23505"

    def test_a_class_raised_from_a_driver_error_stays_its_class(self) -> None:
        try:
            raise Refused("no") from DriverError("22P02", sqlstate="22P02")
        except Refused as exc:
            assert error_identity(exc) == error_name(exc)

    def test_a_team_maps_its_classes_alike(self) -> None:
        meanings = ErrorMeanings.of(alike={Refused: "refused", OtherRefused: "refused"})
        assert error_identity(Refused(), meanings.alike) == "refused"
        assert error_identity(OtherRefused(), meanings.alike) == "refused"
        assert error_identity(KeyError(), meanings.alike) == "builtins.KeyError"

    def test_refusals_and_faults_are_declared(self) -> None:
        meanings = ErrorMeanings.of(refusals=[Refused], infrastructure=["myapp.Down"])
        assert meanings.is_refusal(Refused()) and not meanings.is_fault(Refused())
        assert meanings.is_fault(OtherRefused()) and not meanings.is_fault(None)
        assert "myapp.Down" in meanings.infrastructure
        assert meanings.infrastructure >= DEFAULT_INFRASTRUCTURE
