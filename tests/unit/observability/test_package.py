"""``observability`` is importable by every package because it imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import observability

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PROJECT = {"persistence", "routing", "shadow", "flags", "app", "dashboards", "bench"}


def imported(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


class TestBoundary:
    """It depends on the standard library and structlog only."""

    @pytest.mark.parametrize(
        "source", sorted((ROOT / "observability").glob("*.py")), ids=lambda p: p.name
    )
    def test_imports_no_project_package(self, source: Path) -> None:
        assert imported(source) & PROJECT == set()

    def test_public_surface(self) -> None:
        assert set(observability.__all__) == {
            "INFRASTRUCTURE",
            "ErrorReports",
            "Outage",
            "describe",
            "format_traceback",
            "is_infrastructure",
            "mask_secrets",
            "report_error",
        }


class TestInfrastructure:
    """Which failures are expected: by class, base class, or the error raised from."""

    def test_connection_errors_are(self) -> None:
        assert observability.is_infrastructure(ConnectionRefusedError())
        assert observability.is_infrastructure(TimeoutError())

    def test_a_bug_is_not(self) -> None:
        assert not observability.is_infrastructure(KeyError("x"))
        assert not observability.is_infrastructure(ValueError("x"))

    def test_raised_from_counts(self) -> None:
        try:
            try:
                raise ConnectionResetError("reset")
            except ConnectionResetError as inner:
                raise RuntimeError("wrapped") from inner
        except RuntimeError as exc:
            assert observability.is_infrastructure(exc)

    def test_named_by_bare_name(self) -> None:
        class DatabaseError(Exception):
            pass

        assert observability.is_infrastructure(DatabaseError(), {"DatabaseError"})
        assert not observability.is_infrastructure(DatabaseError(), {"Other"})
