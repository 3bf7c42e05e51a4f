"""What installing the shadow runner checks, so a wrong write declaration fails at start-up.

A write declaration that cannot be honoured would otherwise show up as false divergences
later: a write without a read-back (or with a misspelt one) runs its shadow on the rows the
primary already changed; a ``{key}`` without the cast its column needs, or a wrong table,
makes every capture fail. :func:`check_paths` checks the declaration against the registry
and both paths; :func:`check_database` prepares every capture against the database (which
resolves tables, columns and casts without running anything) and plans the restore's upsert
(which needs a unique key on each group's primary key). Both collect every problem and raise
one :class:`DeclarationError` that lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from routing.registry import Operation, OperationRegistry
from routing.shadowing.plans import ShadowWrites, WritePlan
from routing.shadowing.rows import Entity

__all__ = ["DeclarationError", "check_database", "check_paths"]


class DeclarationError(ValueError):
    """A write declaration the shadow runner cannot honour; the message lists every problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "invalid shadow write declarations:\n" + "\n".join(f"- {p}" for p in self.problems)
        )


def check_paths(
    registry: OperationRegistry, legacy: object, async_: object, writes: ShadowWrites
) -> None:
    """``DeclarationError`` unless every write's read-backs resolve and both paths can shadow it."""
    problems: list[str] = []
    ops = [op for op in registry if op.kind == "write"]
    for op in ops:
        problems += _readback_problems(op, registry, writes)
        problems += [_resolves(op.name, name, registry, writes) for name, _ in _touches(op, writes)]
    if ops:
        problems += [
            p for p in (_no_transaction("legacy", legacy), _no_transaction("async", async_)) if p
        ]
    if problems := [p for p in problems if p]:
        raise DeclarationError(problems)


def _touches(op: Operation, writes: ShadowWrites) -> tuple[tuple[str, str], ...]:
    return tuple(writes.touches.get(op.name, ()))


def _readback_problems(
    op: Operation, registry: OperationRegistry, writes: ShadowWrites
) -> list[str]:
    if op.readback is None:
        if op.key is None:
            return []
        return [
            f"write {op.name!r} has a key ({op.key!r}) but no read-back: declare readback= (the "
            "read that returns what it wrote) and rows= (the rows that stands for), or its "
            "shadow runs on rows the primary already changed"
        ]
    if op.key is None:
        return [f"write {op.name!r} has read-back {op.readback!r} but no key to read it back by"]
    return [_resolves(op.name, op.readback, registry, writes)]


def _resolves(write: str, readback: str, registry: OperationRegistry, writes: ShadowWrites) -> str:
    if readback not in registry:
        near = _near(readback, registry.names())
        return f"write {write!r}: read-back {readback!r} is not a declared operation{near}"
    if registry.get(readback).kind != "read":
        return f"write {write!r}: read-back {readback!r} is a write, not a read"
    if readback not in writes.entities:
        return f"write {write!r}: read-back {readback!r} has no rows declared (rows=)"
    return ""


def _near(name: str, names: Iterable[str]) -> str:
    import difflib

    found = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _no_transaction(side: str, path: object) -> str:
    if callable(getattr(path, "transaction", None)):
        return ""
    return (
        f"the {side} path {type(path).__name__} has no transaction(): a shadowed write needs "
        "a unit of work (the units package ships one for psycopg2 and for asyncpg)"
    )


async def check_database(plans: Mapping[str, WritePlan], conn: Any) -> None:
    """``DeclarationError`` unless every capture and restore of ``plans`` is valid SQL here.

    ``conn`` is an asyncpg connection; nothing is written (statements are prepared or
    explained only).
    """
    problems: list[str] = []
    checked: set[tuple[str, str]] = set()
    for name, plan in plans.items():
        if not plan.entities:
            continue
        problems += _where_problems(name, plan.entities)
        problems += await _capture_problem(name, plan, conn)
        for entity in plan.entities:
            problems += await _upsert_problems(name, entity, conn, checked)
    if problems:
        raise DeclarationError(problems)


def _where_problems(name: str, entities: tuple[Entity, ...]) -> list[str]:
    return [
        f"write {name!r}: rows of {group.table!r} have no {{key}} in where={group.where!r}"
        for entity in entities
        for group in entity.groups
        if "{key}" not in group.where
    ]


async def _capture_problem(name: str, plan: WritePlan, conn: Any) -> list[str]:
    tables = sorted({g.table for e in plan.entities for g in e.groups})
    try:
        await conn.prepare(plan.sql["asyncpg", True])
    except Exception as exc:
        return [
            f"write {name!r}: its rows ({', '.join(tables)}) cannot be captured: "
            f"{type(exc).__name__}: {exc} (the key is text: cast it as its column needs, "
            "e.g. 'id = {key}::uuid')"
        ]
    return []


async def _upsert_problems(
    name: str, entity: Entity, conn: Any, checked: set[tuple[str, str]]
) -> list[str]:
    problems = []
    for group in entity.groups:
        key = ", ".join(group.primary_key)
        if (group.table, key) in checked:
            continue
        checked.add((group.table, key))
        sql = (
            f"EXPLAIN INSERT INTO {group.table} ({key}) SELECT {key} FROM {group.table} "
            f"WHERE false ON CONFLICT ({key}) DO NOTHING"
        )
        try:
            await conn.fetch(sql)
        except Exception as exc:
            problems.append(
                f"write {name!r}: rows of {group.table!r} cannot be restored by primary key "
                f"({key}): {type(exc).__name__}: {exc}"
            )
    return problems
