"""The rows a read returned on the primary side, mapped back to tables, for its reproduction.

A write's reproduction inserts the rows its primary captured before it wrote. A read captures
nothing, but what it returned is the state it read: each model in its result (one, or a
list) is turned back into the rows of the entity it stands for (``app.operations``'
:class:`Entity` and its :class:`RowGroup` s):

* a ``Player`` is its ``players`` row (its fields are the row's columns);
* a ``Container`` is its ``containers`` row and one ``container_contents`` row per item, the
  positions in slot order (the read returns the order, not the positions);
* an ``ItemInstance`` is its ``item_instances`` row only: the read does not say which
  container holds it, so that row group is left as the database has it;
* a ``Room`` (reference data, served from a cache both paths load on first use) is its
  ``rooms`` row and one ``room_exits`` row per exit: the replay's fresh layers load their
  cache inside the replay's transaction, from the rows it inserted;
* a ``Profession`` (reference data) is its ``professions`` row.

A keyed read that found nothing (``None``, ``False``) captures the absence: its entity with no
rows, so the replay deletes any such rows first. A read whose result is not made of rows
(``True`` from ``item_instance_exists``, the bool of ``validate_and_fix_player_room``) or
that raised cannot be captured: :func:`read_state` says why, and the reproduction says so.
Redacted fields (``"[redacted]"`` in the stored result) get the deterministic placeholders a
write's captured rows get (``shadow.redact.redact_rows``).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.operations import CONTAINER, DECLARATIONS, ITEM, PLAYER
from routing.declarations import Declaration
from routing.keys import compile_key
from routing.shadowing.rows import Entity, RowGroup, plain_captured
from shadow.normalise import normalise
from shadow.redact import REDACTED, redact_rows

__all__ = [
    "NOT_REPRODUCED",
    "PROFESSION",
    "ROOM",
    "ReadState",
    "count_rows",
    "read_state",
    "unreproduced",
]

Rows = list[dict[str, Any]]

#: Reference data no write touches: declared here, for reproductions of their reads only.
ROOM = Entity(
    "room",
    (
        RowGroup("rooms", ("room_id",), "room_id = {key}"),
        RowGroup("room_exits", ("room_id", "direction"), "room_id = {key}"),
    ),
)
PROFESSION = Entity(
    "profession",
    (RowGroup("professions", ("profession_id",), "profession_id = {key}::integer"),),
)
#: An item's own row, without the container_contents row a read of it does not show.
ITEM_ROW = Entity("item", ITEM.groups[:1])


@dataclass(frozen=True, slots=True)
class ReadState:
    """What a reproduction inserts for a read: plain captured rows, or ``None`` and why not."""

    captured: list[dict[str, Any]] | None
    note: str


@dataclass(frozen=True, slots=True)
class _Model:
    """How one model maps back to rows: its entity, its key field, its rows group by group."""

    entity: Entity
    key: str
    rows: Callable[[Mapping[str, Any]], tuple[Rows, ...]]


def _without(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != field}


def _container(value: Mapping[str, Any]) -> tuple[Rows, ...]:
    contents = [
        {"container_id": value["container_id"], "item_instance_id": item, "position": slot}
        for slot, item in enumerate(value.get("items") or ())
    ]
    return [_without(value, "items")], contents


def _room(value: Mapping[str, Any]) -> tuple[Rows, ...]:
    exits = [
        {"room_id": value["room_id"], "direction": direction, "target_room_id": target}
        for direction, target in sorted((value.get("exits") or {}).items())
    ]
    return [_without(value, "exits")], exits


def _models() -> dict[type, _Model]:
    from persistence.models import Container, ItemInstance, Player, Profession, Room

    def whole(value: Mapping[str, Any]) -> tuple[Rows, ...]:
        return ([dict(value)],)

    return {
        Player: _Model(PLAYER, "player_id", whole),
        Container: _Model(CONTAINER, "container_id", _container),
        ItemInstance: _Model(ITEM_ROW, "item_instance_id", whole),
        Room: _Model(ROOM, "room_id", _room),
        Profession: _Model(PROFESSION, "profession_id", whole),
    }


_KINDS = {"player": PLAYER, "container": CONTAINER, "item": ITEM, "room": ROOM}


def read_state(operation: str, inputs: Mapping[str, Any], primary: Any) -> ReadState:
    """The rows the read ``operation`` returned on the primary side (``primary_result``)."""
    primary = primary or {}
    if primary.get("error"):
        error = primary["error"].get("class", "an error")
        return ReadState(None, f"the primary's {operation} raised {error}: it read no rows")
    value, (model, many) = primary.get("value"), _returns(operation)
    if model is not None and many and isinstance(value, list):
        return _returned(operation, model, value)
    if model is not None and isinstance(value, Mapping):
        return _returned(operation, model, [value])
    declaration = next(d for d in DECLARATIONS if d.name == operation)
    if (value is None and model is not None) or (value is False and declaration.entity):
        return _absent(declaration, inputs, model)
    shown = repr(value) if isinstance(value, bool | int | float) else f"a {type(value).__name__}"
    return ReadState(None, f"{operation} returned {shown}, not rows it maps back: not captured")


def _returns(operation: str) -> tuple[type | None, bool]:
    """The model ``operation`` returns (``None`` if none), and whether it returns a list."""
    from persistence import api

    hint = typing.get_type_hints(getattr(api.AsyncPersistence, operation)).get("return")
    many = typing.get_origin(hint) is list
    for candidate in (*typing.get_args(hint), hint):
        if isinstance(candidate, type) and candidate in _models():
            return candidate, many
    return None, many


def _returned(operation: str, model: type, values: list[Any]) -> ReadState:
    if not values:
        return ReadState([], f"{operation} returned no rows on the primary: none to insert")
    mapping = _models()[model]
    if not all(isinstance(v, Mapping) and v.get(mapping.key) is not None for v in values):
        note = f"{operation} returned a {model.__name__} without its {mapping.key}, not its rows"
        return ReadState(None, note)
    captured = plain_captured(
        tuple((mapping.entity, str(v[mapping.key]), mapping.rows(v)) for v in values)
    )
    captured = _placeholders(captured or [])
    return ReadState(
        captured, f"the rows {operation} returned on the primary: {count_rows(captured)}"
    )


def _absent(declaration: Declaration, inputs: Mapping[str, Any], model: type | None) -> ReadState:
    """A keyed read that found nothing: its entity, with no rows, so none are there."""
    operation = declaration.name
    entity = _models()[model].entity if model is not None else _KINDS.get(declaration.entity or "")
    key_field = _models()[model].key if model is not None else declaration.key
    key = _key(operation, inputs) if entity and declaration.key == key_field else None
    if entity is None or key is None:
        return ReadState([], f"{operation} found nothing on the primary: no rows to insert")
    groups: tuple[Rows, ...] = tuple([] for _ in entity.groups)
    captured = plain_captured(((entity, key, groups),))
    return ReadState(captured, f"{operation} found no {entity.kind} {key} on the primary")


def _key(operation: str, inputs: Mapping[str, Any]) -> str | None:
    from app.operations import build_registry
    from persistence import api

    method = getattr(api.AsyncPersistence, operation)
    signature = inspect.signature(method)
    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    key_of = compile_key(build_registry().get(operation), signature)
    return key_of(tuple(inputs.get("args", ())), dict(inputs.get("kwargs", {})))


def _placeholders(captured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns the store redacted (``"[redacted]"``) as deterministic, distinct placeholders."""
    fields = {
        column
        for entity in captured
        for group in entity["groups"]
        for row in group["rows"]
        for column, value in row.items()
        if value == REDACTED
    }
    return list(redact_rows(captured, fields)) if fields else captured


def count_rows(captured: list[dict[str, Any]]) -> str:
    """How many rows of each table ``captured`` (plain) holds, as text."""
    counts: dict[str, int] = {}
    for entity in captured:
        for group in entity["groups"]:
            counts[group["table"]] = counts.get(group["table"], 0) + len(group["rows"])
    return ", ".join(f"{n} {table}" for table, n in counts.items()) or "none"


#: The key of a replay's diff when both paths agreed on something the read never returned.
NOT_REPRODUCED = "not reproduced"


def unreproduced(
    data: Mapping[str, Any], value: Any, error: BaseException | None
) -> dict[str, Any]:
    """Nothing when a read, replayed on a fresh database, returned what one of the paths
    returned when it diverged; else what it returned instead.

    Both paths agreeing shows a fix only if they read the state the read saw: on rows that
    are not that state (a list past an offset, a result that was not rows) they agree on
    something else. ``"[redacted]"`` in the recorded value matches any placeholder.
    """
    replayed = {"value": normalise(value), "error": _class_of(error)}
    for side in (data.get("primary_result"), data.get("shadow_result")):
        if side and _error_class(side) == replayed["error"]:
            if replayed["error"] is not None or _matches(side.get("value"), replayed["value"]):
                return {}
    recorded = data.get("primary_result") or {}
    return {NOT_REPRODUCED: {"primary": recorded.get("value"), "replayed": replayed["value"]}}


def _class_of(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__module__}.{type(error).__qualname__}"


def _error_class(side: Mapping[str, Any]) -> str | None:
    error = side.get("error")
    return error.get("class") if isinstance(error, Mapping) else None


def _matches(recorded: Any, replayed: Any) -> bool:
    if recorded == REDACTED:
        return True
    if isinstance(recorded, Mapping) and isinstance(replayed, Mapping):
        return recorded.keys() == replayed.keys() and all(
            _matches(recorded[k], replayed[k]) for k in recorded
        )
    if isinstance(recorded, list) and isinstance(replayed, list):
        return len(recorded) == len(replayed) and all(map(_matches, recorded, replayed))
    return bool(recorded == replayed)
