"""The package's public surface and its independence from the rest of dualpath."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shadow

pytestmark = pytest.mark.unit

FORBIDDEN = ("persistence", "routing", "app")


def test_public_api_is_pinned() -> None:
    assert sorted(shadow.__all__) == sorted(
        [
            "DEFAULT_INFRASTRUCTURE", "KINDS", "CompareOptions", "Comparison", "Divergence",
            "DivergenceError", "DivergenceGroup", "DivergenceStore", "Divergences",
            "EngineConfig", "Exemplar", "FlushTimeout", "IgnoreRule", "IgnoreRules", "Mismatch",
            "Observation", "OperationSpec", "OperationTotals", "Result", "RollupRow", "Shadow",
            "ShadowEngine", "ShadowMetrics", "StoreConfig", "UnknownSignature", "classify_errors",
            "compare", "normalise", "redact", "signature",
        ]
    )  # fmt: skip
    for name in shadow.__all__:
        assert hasattr(shadow, name), name


@pytest.mark.parametrize("module", sorted(Path(shadow.__file__).parent.glob("*.py")), ids=str)
def test_imports_nothing_from_the_router_or_persistence(module: Path) -> None:
    for node in ast.walk(ast.parse(module.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"
