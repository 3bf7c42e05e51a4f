"""Both results of an exemplar side by side, one row per field, the differing ones marked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "FieldRow", "field_rows", "readable_path"]

MISSING = "—"
_STEP = re.compile(r"\[(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(\d+))\]")


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field of the two results: its path, both values as text, and whether they differ."""

    path: str
    primary: str
    shadow: str
    differs: bool


def field_rows(primary: Any, shadow: Any, diff_paths: Iterable[str] = ()) -> list[FieldRow]:
    """Rows for every leaf of either result, in order, marked where values or paths differ."""
    left, right = dict(flatten(_without_path(primary))), dict(flatten(_without_path(shadow)))
    named = {readable_path(p) for p in diff_paths}
    rows = []
    for path in dict.fromkeys([*left, *right]):
        a, b = left.get(path, MISSING), right.get(path, MISSING)
        differs = a != b or any(path == n or path.endswith("." + n) for n in named if n)
        rows.append(FieldRow(path or "(value)", a, b, differs))
    return rows


def _without_path(side: Any) -> Any:
    """A stored side without its ``path`` (legacy/async differ by design; shown in headers)."""
    if isinstance(side, dict) and "path" in side:
        return {k: v for k, v in side.items() if k != "path"}
    return side


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted.path, text)`` for every leaf; empty dicts and lists are leaves."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value if isinstance(value, str) else json.dumps(value, default=str)


def readable_path(path: str) -> str:
    """``root['stats']['current_health']`` as ``stats.current_health`` (lists keep ``[i]``)."""
    head, _, _ = path.partition("[")
    parts = [] if head == "root" else [head]
    for quoted, dquoted, index in _STEP.findall(path):
        if index:
            parts[-1:] = [f"{parts[-1] if parts else ''}[{index}]"]
        else:
            parts.append(quoted or dquoted)
    return ".".join(p for p in parts if p)
