"""Plain data from whatever the components return: dataclasses, mappings, or objects.

The service reads flag states, audit rows, divergence groups, exemplars and rollup rows. It
turns each into a dict once, here, so that templates and JSON responses see one shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

__all__ = ["as_dict", "jsonable", "since_text"]


def as_dict(record: object) -> dict[str, Any]:
    """A record's fields as a shallow dict."""
    if isinstance(record, Mapping):
        return dict(record)
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if hasattr(record, "_asdict"):
        return dict(record._asdict())
    return {k: v for k, v in vars(record).items() if not k.startswith("_")}


def jsonable(value: object) -> Any:
    """``value`` with dataclasses, sets, UUIDs, decimals and datetimes made JSON-friendly."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(as_dict(value))
    return str(value)


def since_text(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``moment`` was, as ``3d 4h``, ``5h 2m``, ``4m 10s`` or ``12s``."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
