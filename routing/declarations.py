"""How a team declares its domains: one row per operation, and what its errors mean.

A :class:`Declaration` is everything about one operation that is not its two
implementations: its domain, whether it reads or writes, the argument that holds its entity
key, its legacy name when that differs, and what the shadow runner needs to compare a write:
the read that returns what it touched (``readback``) and the rows that stands for
(``rows``), further rows it touches (``touches``, with their rows in ``extra_rows``), the
columns a database clock stamps (``clock``), whether the call updates the object it was given
(``mutates``), and a ``prepare`` that settles arguments both paths must share (a new id).

:class:`Declarations` holds a team's rows with the entity kinds of each domain, the class its
paths' ``transaction()`` raises when a unit is already open, and what its errors mean
(``shadow.errors.ErrorMeanings``). The registry, the domains and the shadow runner's
``ShadowWrites`` are derived from it; ``app.bootstrap.open_system(declarations=...)`` takes
it. ``docs/adopting.md`` walks through one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.registry import Kind, Operation, OperationRegistry
from routing.shadowing import Entity, ShadowWrites
from shadow.errors import ErrorMeanings
from units.errors import UnitAlreadyOpen

__all__ = ["Declaration", "Declarations", "Prepare", "declare"]

Prepare = Callable[[tuple[Any, ...], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Declaration:
    """Everything about one operation that is not its two implementations."""

    domain: str
    name: str
    kind: Kind
    key: str | None = None
    legacy_name: str = ""
    readback: str | None = None
    rows: Entity | None = None
    touches: tuple[tuple[str, str], ...] = ()
    clock: frozenset[str] = frozenset()
    mutates: bool = False
    prepare: Prepare | None = None
    entity: str | None = None
    extra_rows: Mapping[str, Entity] = field(default_factory=dict)

    def operation(self) -> Operation:
        """The routing registry's view of this declaration."""
        return Operation(
            self.domain,
            self.name,
            self.kind,
            self.key,
            legacy_name=self.legacy_name,
            readback=self.readback,
            mutates_arguments=self.mutates,
            ignore_fields=self.clock,
        )


def declare(
    domain: str,
    name: str,
    kind: Kind,
    key: str | None = None,
    **details: Any,
) -> Declaration:
    """One operation's declaration; ``details`` are the optional fields of ``Declaration``."""
    return Declaration(domain, name, kind, key, **details)


@dataclass(frozen=True)
class Declarations:
    """A team's operations, its domains' entity kinds, and what its errors mean.

    ``domain_kinds``: domain → the entity kinds its calls read or write, so a read is not
    compared across a write of another domain to the same rows. ``already_open``: what the
    paths' ``transaction()`` raises when the caller has a unit of work open (the shipped
    units' ``UnitAlreadyOpen`` by default). ``errors``: refusals, infrastructure, and classes
    compared alike.
    """

    operations: tuple[Declaration, ...]
    domain_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    already_open: tuple[type[BaseException], ...] = (UnitAlreadyOpen,)
    errors: ErrorMeanings = field(default_factory=ErrorMeanings)

    def __post_init__(self) -> None:
        if not self.operations:
            raise ValueError("declarations need at least one operation")
        self.registry()  # a clash of names is an error here, not at the first call

    @property
    def domains(self) -> tuple[str, ...]:
        """The domains, in the order their first operation was declared."""
        return tuple(dict.fromkeys(d.domain for d in self.operations))

    def registry(self) -> OperationRegistry:
        """A fresh registry of every operation (the router owns it from then on)."""
        return OperationRegistry(d.operation() for d in self.operations)

    def shadow_writes(self) -> ShadowWrites:
        """What the shadow runner needs to capture, restore and compare the writes."""
        entities: dict[str, Entity] = {}
        for d in self.operations:
            if d.readback is not None and d.rows is not None:
                entities[d.readback] = d.rows
            entities.update(d.extra_rows)
        ops = self.operations
        return ShadowWrites(
            entities=entities,
            touches={d.name: d.touches for d in ops if d.touches},
            prepare={d.name: d.prepare for d in ops if d.prepare is not None},
            domain_kinds=self.domain_kinds,
            read_entities={d.name: d.entity for d in ops if d.entity is not None},
            already_open=self.already_open,
        )
