"""What the shadow runner needs to know about each write, compiled once per operation.

The application describes its entities once (:class:`ShadowWrites`): which rows a read-back
name stands for (``get_player_by_id`` → the player's ``players`` row), which writes touch a
second entity (an item moved into a container), and which calls need their arguments settled
before two paths can run them (a create that would pick a random id on each path). From that,
:func:`compile_plans` makes one :class:`WritePlan` per write: the capture SQL for each driver
and the key extractors for both signatures.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.keys import KeyOf, compile_key
from routing.registry import Operation, OperationRegistry
from routing.shadowing.rows import Dialect, Entity, capture_params, capture_sql
from routing.shadowing.sides import Args
from routing.shadowing.write_watch import Watched, watched_by

__all__ = [
    "Capture",
    "Prepare",
    "ReadPlan",
    "ShadowWrites",
    "WritePlan",
    "compile_plans",
    "compile_reads",
]

Prepare = Callable[[tuple[Any, ...], dict[str, Any]], Args]
DIALECTS: tuple[Dialect, ...] = ("asyncpg", "psycopg2")


@dataclass(frozen=True)
class ShadowWrites:
    """The application's description of what its writes touch.

    ``entities``: read-back name → the entity it reads (``"get_player_by_id"`` → player).
    ``touches``: write name → further ``(read-back name, key path)`` pairs it touches, after
    the operation's own key (taken in this order, which is also the lock order).
    ``prepare``: write name → a function that settles its arguments for both paths.
    ``domain_kinds``: domain → the entity kinds its calls read or write (for the write watch).
    ``read_entities``: read name → the kind whose key is that read's key (``get_container``
    reads one container), so it is compared unless that very entity was written meanwhile.
    ``already_open``: what the paths' ``transaction()`` raises when the caller has a unit of
    work open (the runner then lets the caller's unit of work own the write, unshadowed).
    """

    entities: Mapping[str, Entity] = field(default_factory=dict)
    touches: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    prepare: Mapping[str, Prepare] = field(default_factory=dict)
    domain_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    read_entities: Mapping[str, str] = field(default_factory=dict)
    already_open: tuple[type[BaseException], ...] = ()


@dataclass(frozen=True, slots=True)
class Capture:
    """The capture of one call's entities: what to run, on which driver, with which keys."""

    entities: tuple[Entity, ...]
    keys: tuple[str, ...]
    locking_sql: str
    plain_sql: str
    params: Any


@dataclass(frozen=True)
class WritePlan:
    """How to capture and restore what one write touches."""

    entities: tuple[Entity, ...] = ()
    async_keys: tuple[KeyOf, ...] = ()
    legacy_keys: tuple[KeyOf, ...] = ()
    prepare: Prepare | None = None
    sql: Mapping[tuple[Dialect, bool], str] = field(default_factory=dict)
    kinds: tuple[str, ...] = ()

    def touched(self, keys: tuple[str, ...] | None) -> list[tuple[str, str | None]]:
        """What a call writes, for the write watch: its entities, and its domain's kinds."""
        named = list(zip((e.kind for e in self.entities), keys, strict=True)) if keys else []
        seen = {kind for kind, _key in named}
        return named + [(kind, None) for kind in self.kinds if kind not in seen]

    def keys(self, args: tuple[Any, ...], kwargs: dict[str, Any], *, legacy: bool) -> Any:
        """The entity keys of a call, or ``None`` if any is missing (nothing to capture)."""
        keys = []
        for key_of in self.legacy_keys if legacy else self.async_keys:
            key = key_of(args, kwargs)
            if key is None:
                return None
            keys.append(key)
        return tuple(keys)

    def capture(self, keys: tuple[str, ...] | None, dialect: Dialect) -> Capture | None:
        """The capture of these keys on one driver; ``None`` when there is nothing to capture."""
        if not self.entities or keys is None:
            return None
        return Capture(
            self.entities,
            keys,
            self.sql[dialect, True],
            self.sql[dialect, False],
            capture_params(keys, dialect),
        )


NO_PLAN = WritePlan()


@dataclass(frozen=True)
class ReadPlan:
    """What a read depends on, for the write watch."""

    kinds: tuple[str, ...] = ()
    keyed: str | None = None
    async_key: KeyOf | None = None
    legacy_key: KeyOf | None = None

    def watched(self, args: tuple[Any, ...], kwargs: dict[str, Any], *, legacy: bool) -> Watched:
        """The entities and kinds one call of this read depends on."""
        key_of = self.legacy_key if legacy else self.async_key
        key = key_of(args, kwargs) if key_of is not None else None
        out: Watched = ()
        for kind in self.kinds:
            out += watched_by(kind, key if kind == self.keyed else None)
        return out


NO_READ = ReadPlan()


def compile_plans(
    registry: OperationRegistry, legacy: object, async_: object, writes: ShadowWrites
) -> dict[str, WritePlan]:
    """A plan for every write of ``registry``."""
    return {op.name: _plan(op, legacy, async_, writes) for op in registry if op.kind == "write"}


def compile_reads(
    registry: OperationRegistry, legacy: object, async_: object, writes: ShadowWrites
) -> dict[str, ReadPlan]:
    """A plan for every read of ``registry``."""
    return {op.name: _read_plan(op, legacy, async_, writes) for op in registry if op.kind == "read"}


def _read_plan(op: Operation, legacy: object, async_: object, writes: ShadowWrites) -> ReadPlan:
    kinds = tuple(writes.domain_kinds.get(op.domain, ()))
    keyed = writes.read_entities.get(op.name)
    if keyed is None or op.key is None:
        return ReadPlan(kinds)
    return ReadPlan(
        kinds,
        keyed,
        compile_key(op, inspect.signature(getattr(async_, op.name))),
        compile_key(op, inspect.signature(getattr(legacy, op.legacy_name))),
    )


def _plan(op: Operation, legacy: object, async_: object, writes: ShadowWrites) -> WritePlan:
    pairs = _touched(op, writes)
    entities = tuple(writes.entities[readback] for readback, _path in pairs)
    kinds = tuple(writes.domain_kinds.get(op.domain, ()))
    if not entities:
        return WritePlan(prepare=writes.prepare.get(op.name), kinds=kinds)
    async_sig = inspect.signature(getattr(async_, op.name))
    legacy_sig = inspect.signature(getattr(legacy, op.legacy_name))
    keyed = [dataclasses.replace(op, key=path) for _readback, path in pairs]
    return WritePlan(
        entities=entities,
        async_keys=tuple(compile_key(k, async_sig) for k in keyed),
        legacy_keys=tuple(compile_key(k, legacy_sig) for k in keyed),
        prepare=writes.prepare.get(op.name),
        sql={
            (dialect, locking): capture_sql(entities, dialect, locking=locking)
            for dialect in DIALECTS
            for locking in (True, False)
        },
        kinds=kinds,
    )


def _touched(op: Operation, writes: ShadowWrites) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if op.readback is not None and op.readback in writes.entities and op.key is not None:
        pairs.append((op.readback, op.key))
    pairs += [p for p in writes.touches.get(op.name, ()) if p[0] in writes.entities]
    return pairs
