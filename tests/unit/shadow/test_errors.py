"""Error classification: which error differences are bugs and which are infrastructure."""

from __future__ import annotations

import pytest

from shadow.errors import DEFAULT_INFRASTRUCTURE, classify_errors, error_lineage, error_name
from shadow.observation import ERROR_MISMATCH, SHADOW_ERROR

pytestmark = pytest.mark.unit

DB = "persistence.errors.DatabaseError"
NOT_FOUND = "persistence.errors.NotFoundError"
INVALID = "persistence.errors.ValidationError"


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
        assert classify_errors(primary, shadow) == kind

    def test_infrastructure_set_is_configurable(self) -> None:
        assert classify_errors(None, DB, infrastructure=frozenset()) == ERROR_MISMATCH
        assert classify_errors(None, NOT_FOUND, frozenset({NOT_FOUND})) == SHADOW_ERROR

    def test_bare_names_match_any_module(self) -> None:
        assert (
            classify_errors(None, "other.errors.DatabaseError", {"DatabaseError"}) == SHADOW_ERROR
        )

    def test_lineage_makes_subclasses_infrastructure(self) -> None:
        lineage = ("app.PoolExhausted", DB)
        assert classify_errors(None, "app.PoolExhausted", DEFAULT_INFRASTRUCTURE, lineage) == (
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
