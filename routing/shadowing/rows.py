"""The rows a write touches: captured before and after it, and restored for a shadow write.

An :class:`Entity` is the set of rows one key names, as a few :class:`RowGroup` s (a table and
a ``WHERE`` on the key): a player is its ``players`` row; a container its ``containers`` row
and its ``container_contents`` rows. The application declares them (``app.operations``);
this module only turns them into SQL, so routing still knows no schema of its own.

Three statements come out of an entity (and its key):

* the **capture**: one ``SELECT`` that returns every group's rows as JSON text. With
  ``locking`` it takes ``FOR UPDATE`` on them, in primary-key order, so nothing else can
  change them between the capture and the write that follows in the same transaction;
* the **restore** script: run first in a shadow's rolled-back transaction, it makes the
  rows what the capture saw (deletes rows the capture did not see, upserts the ones it saw).
  It starts with ``SET LOCAL lock_timeout``, so a shadow gives up instead of waiting on any
  lock;
* :func:`effects`: the captured rows as plain data, sorted by primary key, without the
  columns a database clock fills (``now()``) that legitimately differ between transactions.

Parameters: the capture is prepared with placeholders (``$n`` for asyncpg, ``%(kn)s`` for
psycopg2); the restore is a multi-statement script (one round trip on both drivers'
simple-query protocol), so its values are inlined as dollar-quoted literals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Captured",
    "Dialect",
    "Entity",
    "RowGroup",
    "capture_params",
    "capture_sql",
    "effects",
    "from_plain",
    "literal",
    "lock_timeout_script",
    "parse_capture",
    "plain_captured",
    "restore_script",
]

Dialect = Literal["asyncpg", "psycopg2"]
Rows = list[dict[str, Any]]
#: One entity's captured rows, group by group (same order as ``Entity.groups``).
Captured = tuple[tuple["Entity", str, tuple[Rows, ...]], ...]


@dataclass(frozen=True, slots=True)
class RowGroup:
    """The rows of one table that belong to an entity.

    ``where`` is a SQL condition with ``{key}`` where the entity key (text) goes, cast as the
    column needs (``"player_id = {key}::uuid"``). ``primary_key`` orders and identifies the
    rows; ``volatile`` columns are filled by the database clock and are left out of effects.
    """

    table: str
    primary_key: tuple[str, ...]
    where: str
    volatile: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Entity:
    """What one key names: a kind (``"player"``) and its groups of rows."""

    kind: str
    groups: tuple[RowGroup, ...]


def capture_sql(entities: Sequence[Entity], dialect: Dialect, *, locking: bool) -> str:
    """One ``SELECT`` of every group of ``entities`` (entity ``i`` keyed by parameter ``i``)."""
    columns = []
    for index, entity in enumerate(entities):
        key = f"${index + 1}::text" if dialect == "asyncpg" else f"%(k{index})s::text"
        for number, group in enumerate(entity.groups):
            columns.append(f"({_group_select(group, key, locking)}) AS g{index}_{number}")
    return "SELECT " + ", ".join(columns)


def _group_select(group: RowGroup, key: str, locking: bool) -> str:
    order = ", ".join(group.primary_key)
    lock = " FOR UPDATE" if locking else ""
    rows = f"SELECT * FROM {group.table} WHERE {group.where.format(key=key)} ORDER BY {order}"
    return f"SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text FROM ({rows}{lock}) r"


def capture_params(keys: Sequence[str], dialect: Dialect) -> Any:
    """The parameters of :func:`capture_sql` for these keys, as the driver takes them."""
    if dialect == "asyncpg":
        return tuple(keys)
    return {f"k{index}": key for index, key in enumerate(keys)}


def parse_capture(
    entities: Sequence[Entity], keys: Sequence[str], row: Mapping[str, Any]
) -> Captured:
    """The captured rows of each entity, parsed from the capture's one result row."""
    captured = []
    for index, (entity, key) in enumerate(zip(entities, keys, strict=True)):
        groups = tuple(
            json.loads(row[f"g{index}_{number}"]) for number in range(len(entity.groups))
        )
        captured.append((entity, key, groups))
    return tuple(captured)


def restore_script(captured: Captured, lock_timeout_ms: int) -> str:
    """Statements that put every captured row back as it was (inside the shadow's transaction).

    Rows the capture did not see are deleted first (children before parents), then the
    captured rows are upserted (parents before children).
    """
    deletes, upserts = [], []
    for entity, key, groups in captured:
        for group, rows in zip(entity.groups, groups, strict=True):
            where = group.where.format(key=literal(key) + "::text")
            deletes.append(_delete(group, where, rows))
            if rows:
                upserts.append(_upsert(group, rows))
    return ";\n".join([lock_timeout_script(lock_timeout_ms), *reversed(deletes), *upserts])


def lock_timeout_script(lock_timeout_ms: int) -> str:
    """The first statement of every shadow write: never wait on a lock."""
    return f"SET LOCAL lock_timeout = '{max(1, int(lock_timeout_ms))}ms'"


def _delete(group: RowGroup, where: str, rows: Rows) -> str:
    statement = f"DELETE FROM {group.table} WHERE {where}"
    if not rows:
        return statement
    keys = ", ".join(group.primary_key)
    return f"{statement} AND ({keys}) NOT IN (SELECT {keys} FROM {_recordset(group, rows)})"


def _upsert(group: RowGroup, rows: Rows) -> str:
    columns = list(rows[0])
    names = ", ".join(columns)
    excluded = ", ".join(f"EXCLUDED.{c}" for c in columns)
    conflict = ", ".join(group.primary_key)
    return (
        f"INSERT INTO {group.table} ({names}) SELECT {names} FROM {_recordset(group, rows)}"
        f" ON CONFLICT ({conflict}) DO UPDATE SET ({names}) = ROW({excluded})"
    )


def _recordset(group: RowGroup, rows: Rows) -> str:
    return f"jsonb_populate_recordset(NULL::{group.table}, {literal(json.dumps(rows))}::jsonb)"


def literal(text: str) -> str:
    """``text`` as a dollar-quoted SQL literal whose tag does not occur in it."""
    number = 0
    while f"$v{number}$" in text:
        number += 1
    tag = f"$v{number}$"
    return f"{tag}{text}{tag}"


def effects(captured: Captured, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The captured rows as plain data: ``{kind: {table: [row, ...]}}``, clock columns out."""
    out: dict[str, Any] = {}
    for entity, _key, groups in captured:
        tables: dict[str, Any] = out.setdefault(entity.kind, {})
        for group, rows in zip(entity.groups, groups, strict=True):
            dropped = group.volatile | ignore
            tables[group.table] = [
                {k: v for k, v in row.items() if k not in dropped} for row in rows
            ]
    return out


def plain_captured(captured: Captured | None) -> list[dict[str, Any]] | None:
    """The captured rows as plain data, for an exemplar a reproduction inserts again.

    ``[{kind, key, groups: [{table, primary_key, where, volatile, rows}]}]``: everything
    :func:`restore_script` needs, with no routing class in it.
    """
    if not captured:
        return None
    return [
        {"kind": entity.kind, "key": key, "groups": [
            {"table": g.table, "primary_key": list(g.primary_key), "where": g.where,
             "volatile": sorted(g.volatile), "rows": rows}
            for g, rows in zip(entity.groups, groups, strict=True)
        ]}
        for entity, key, groups in captured
    ]  # fmt: skip


def from_plain(plain: Sequence[Mapping[str, Any]]) -> Captured:
    """:func:`plain_captured`'s data back as captured rows (what a reproduction restores)."""
    captured = []
    for entity in plain:
        groups = tuple(
            RowGroup(g["table"], tuple(g["primary_key"]), g["where"], frozenset(g["volatile"]))
            for g in entity["groups"]
        )
        rows = tuple(g["rows"] for g in entity["groups"])
        captured.append((Entity(entity["kind"], groups), entity["key"], rows))
    return tuple(captured)
