"""Turn whatever a path returned into plain, JSON-safe data that compares with ``==``.

The rules, applied recursively:

* ``None``, ``bool``, ``int``, ``float`` stay as they are; ``str`` too, unless it is JSON
  text whose first character is ``{`` or ``[`` and that parses as an object or an array:
  then the parsed value (a JSONB column read as text by one path and as data by the other).
* dataclasses become dicts of their fields; other objects with ``to_dict()`` become its dict;
  mappings become dicts with string keys.
* lists and tuples become lists; sets and frozensets become sorted lists.
* ``UUID`` becomes its string; ``datetime`` its ISO string in UTC (a naive datetime is taken
  to be UTC already); ``date`` and ``time`` their ISO string; ``Enum`` its value; ``bytes`` hex.
* ``Decimal`` becomes a canonical decimal string without exponent or trailing zeros
  (``Decimal("12.50")`` → ``"12.5"``). A string keeps every digit and survives JSON; the
  contract types money-like columns as ``Decimal``, so a ``float`` on the other side is a
  genuine difference and is reported.
* anything else is kept as it is and compared with its own ``==``.

Events normalise to ``{"type": ClassName, **fields}``. When ``unordered`` is set, a list at
the top level is sorted (by the canonical JSON of each item), because the operation declares
that its order is not part of the contract.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

__all__ = ["canonical_json", "normalise", "normalise_event", "normalise_events"]

_PLAIN = (bool, int, float, type(None))


def normalise(value: Any, *, unordered: bool = False) -> Any:
    """``value`` as plain data; a top-level list is sorted when ``unordered``."""
    plain = _plain(value)
    if unordered and isinstance(plain, list):
        return _sorted(plain)
    return plain


def normalise_event(event: Any) -> dict[str, Any]:
    """One event as ``{"type": ClassName, **fields}``."""
    body = _plain(event)
    if not isinstance(body, dict):
        body = {"value": body}
    return {"type": type(event).__name__, **body}


def normalise_events(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Events in publication order, each normalised."""
    return [normalise_event(event) for event in events]


def canonical_json(value: Any) -> str:
    """Stable JSON for plain data (sorted keys; unknown objects as their ``str``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


#: The exact types that are plain already; checked first, as most values are one of these.
_PLAIN_TYPES = frozenset({bool, int, float, type(None)})
#: Field names per dataclass type, read once (``dataclasses.fields`` is costly per call).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """Plain data: the common exact types first, then :func:`_any_plain`."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is str:
        return _maybe_json(value)
    if kind is dict:
        return {k if type(k) is str else _key(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    names = _FIELDS.get(kind)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    return _any_plain(value)


def _any_plain(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, str):
        return _maybe_json(value)
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return _scalar_or_object(value)


def _scalar_or_object(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return _utc_iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, set | frozenset):
        return _sorted([_plain(item) for item in value])
    return _object(value)


def _object(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {name: _plain(getattr(value, name)) for name in names}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict())
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _key(key: Any) -> str:
    return key if isinstance(key, str) else str(_plain(key))


def _maybe_json(text: str) -> Any:
    if not text or text[0] not in "{[":
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, dict | list) else text


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC).isoformat()
    return moment.astimezone(UTC).isoformat()


def _decimal(number: Decimal) -> str:
    if not number.is_finite():
        return str(number)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _sorted(items: list[Any]) -> list[Any]:
    return sorted(items, key=canonical_json)
