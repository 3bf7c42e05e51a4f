"""Redaction: configured fields are replaced by ``"[redacted]"`` before anything leaves memory.

A field is redacted by key, anywhere in nested dicts and lists. In a diff's detail, whose
keys are diff paths, a path that names a redacted field anywhere has both sides redacted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Final

__all__ = ["DEFAULT_REDACTED", "REDACTED", "redact", "redact_diff", "redact_rows"]

REDACTED: Final = "[redacted]"
DEFAULT_REDACTED: Final = frozenset({"email", "password_hash"})

_KEYS = re.compile(r"\['([^']*)'\]")


def redact(value: Any, fields: Collection[str] = DEFAULT_REDACTED) -> Any:
    """A copy of ``value`` with every ``fields`` key's value replaced by ``"[redacted]"``."""
    if isinstance(value, Mapping):
        return {k: REDACTED if k in fields else redact(v, fields) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, fields) for item in value]
    return value


def redact_diff(detail: Mapping[str, Any], fields: Collection[str] = DEFAULT_REDACTED) -> Any:
    """A diff detail (``{path: {"primary", "shadow"}}``) with redacted fields' values hidden."""
    return {
        path: _hidden(sides) if _names_redacted(path, fields) else redact(sides, fields)
        for path, sides in detail.items()
    }


def _names_redacted(path: str, fields: Collection[str]) -> bool:
    return any(key in fields for key in _KEYS.findall(path))


def _hidden(sides: Any) -> Any:
    if isinstance(sides, Mapping):
        return dict.fromkeys(sides, REDACTED)
    return REDACTED


def redact_rows(captured: Any, fields: Collection[str] = DEFAULT_REDACTED) -> Any:
    """Captured rows with each redacted column replaced by a deterministic placeholder.

    A reproduction inserts these rows, so a placeholder must be a valid, distinct value:
    ``redacted-<column>-<table>-<row>``, ``<row>`` counting the table's rows across every
    entity (the same for the same exemplar, unique per row).
    """
    if not captured:
        return captured
    seen: dict[str, int] = {}
    return [
        {**entity, "groups": [_placeholders(g, fields, seen) for g in entity["groups"]]}
        for entity in captured
    ]


def _placeholders(
    group: Mapping[str, Any], fields: Collection[str], seen: dict[str, int]
) -> dict[str, Any]:
    table = group["table"]
    first = seen.get(table, 0)
    seen[table] = first + len(group["rows"])
    rows = [
        {k: f"redacted-{k}-{table}-{i}" if k in fields and v is not None else v
         for k, v in row.items()}
        for i, row in enumerate(group["rows"], start=first)
    ]  # fmt: skip
    return {**group, "rows": rows}
