"""The guild example is built on the documented public API alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dualpath

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guild"
#: What the example may import besides ``dualpath`` and itself: the drivers and the stdlib.
DRIVERS = {"psycopg2", "asyncpg"}


def imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every ``(module, names)`` a file imports."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


class TestPublicApi:
    """The example imports only ``dualpath``'s pinned names, its drivers and the stdlib."""

    def test_the_public_names_are_pinned(self) -> None:
        assert sorted(dualpath.__all__) == [
            "AsyncUnits", "Declaration", "DeclarationError", "Declarations", "Entity",
            "ErrorMeanings", "RowGroup", "Session", "Settings", "Skip", "SyncUnits", "System",
            "UnitAlreadyOpen", "UnitFailed", "calling_service", "declare", "open_system",
        ]  # fmt: skip

    @pytest.mark.parametrize("path", sorted(EXAMPLE.glob("*.py")), ids=lambda p: p.name)
    def test_the_example_imports_only_documented_names(self, path: Path) -> None:
        for module, names in imports(path):
            top = module.split(".")[0]
            if module == "dualpath":
                assert set(names) <= set(dualpath.__all__), (path.name, names)
            elif module.startswith("examples.guild") or module == "__future__":
                continue
            else:
                assert top in DRIVERS or top in sys.stdlib_module_names, (path.name, module)

    def test_the_guide_names_every_public_name(self) -> None:
        guide = (EXAMPLE.parents[1] / "docs" / "adopting.md").read_text()
        missing = [name for name in dualpath.__all__ if name not in guide]
        assert missing == []
