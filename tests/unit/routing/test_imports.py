"""routing, flags and shadow never import persistence: they must work with any two paths."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("routing", "flags", "shadow")


def imported_modules(source: Path) -> list[str]:
    """Every module a file imports, at any depth (functions and TYPE_CHECKING blocks too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


class TestNoPersistenceImports:
    """The router's side of the system knows the paths only through the registry."""

    def test_there_are_files_to_check(self) -> None:
        assert any(p.parent.name == "routing" for p in files())

    @pytest.mark.parametrize("source", files(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_does_not_import_persistence(self, source: Path) -> None:
        bad = [
            name
            for name in imported_modules(source)
            if name == "persistence" or name.startswith("persistence.")
        ]
        assert bad == []

    def test_routing_imports_only_the_flag_model_from_flags(self) -> None:
        routing = [p for p in files() if p.parent.name == "routing"]
        flags = {n for p in routing for n in imported_modules(p) if n.split(".")[0] == "flags"}
        assert flags <= {"flags.model"}

    def test_the_check_sees_nested_imports(self, tmp_path: Path) -> None:
        sample = tmp_path / "sample.py"
        sample.write_text("def f():\n    from persistence.legacy import PersistenceLayer\n")
        assert imported_modules(sample) == ["persistence.legacy"]
