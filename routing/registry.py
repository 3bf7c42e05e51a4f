"""``Operation``: one persistence operation as routing sees it; ``OperationRegistry``: all of them.

The router, the sync facade and the shadow runner read what they need about an operation
from here. The application builds the registry from its declarations (``app.operations``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["read", "write"]
OPERATION_KINDS: tuple[Kind, ...] = ("read", "write")


@dataclass(frozen=True, slots=True)
class Operation:
    """One persistence operation, as both paths implement it.

    ``name`` is the async facade's method name and ``legacy_name`` the legacy path's (the
    same unless given). ``key`` names the entity-key argument that makes a percent rollout
    sticky per entity: a parameter (``"player_id"``) or an attribute path on one
    (``"player.player_id"``); ``None`` when the call has no single entity.

    The remaining fields are for comparing the two paths and are not used to route:
    ``unordered`` (a list result whose order is not part of the contract), ``readback`` (the
    name of a read that takes the entity key and returns what a write touched),
    ``mutates_arguments`` (the call updates an object it was given, so a second path needs
    its own copy) and ``ignore_fields`` (result fields that legitimately differ).
    """

    domain: str
    name: str
    kind: Kind
    key: str | None
    legacy_name: str = ""
    unordered: bool = False
    readback: str | None = None
    mutates_arguments: bool = False
    ignore_fields: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind not in OPERATION_KINDS:
            raise ValueError(
                f"{self.name}: kind must be one of {OPERATION_KINDS}, not {self.kind!r}"
            )
        if not self.domain or not self.name:
            raise ValueError("an operation needs a domain and a name")
        if self.key is not None and not all(self.key.split(".")):
            raise ValueError(f"{self.name}: malformed key {self.key!r}")
        if not self.legacy_name:
            object.__setattr__(self, "legacy_name", self.name)

    @property
    def key_parameter(self) -> str | None:
        """The parameter that holds the key, without any attribute path."""
        return None if self.key is None else self.key.partition(".")[0]

    @property
    def key_path(self) -> str:
        """The attribute path from the key parameter to the key, or ``""``."""
        return "" if self.key is None else self.key.partition(".")[2]


class OperationRegistry:
    """Every operation the router serves, looked up by async name or by legacy name."""

    def __init__(self, operations: Iterable[Operation] = ()) -> None:
        self._by_name: dict[str, Operation] = {}
        self._by_legacy_name: dict[str, Operation] = {}
        for operation in operations:
            self.register(operation)

    def register(self, operation: Operation) -> Operation:
        """Add ``operation``; ``ValueError`` if its name or legacy name is already taken."""
        if operation.name in self._by_name:
            raise ValueError(f"operation {operation.name!r} is already registered")
        if operation.legacy_name in self._by_legacy_name:
            raise ValueError(f"legacy name {operation.legacy_name!r} is already registered")
        self._by_name[operation.name] = operation
        self._by_legacy_name[operation.legacy_name] = operation
        return operation

    def get(self, name: str) -> Operation:
        """The operation whose async name is ``name``; ``KeyError`` if none."""
        return self._by_name[name]

    def by_legacy_name(self, legacy_name: str) -> Operation:
        """The operation whose legacy name is ``legacy_name``; ``KeyError`` if none."""
        return self._by_legacy_name[legacy_name]

    def names(self) -> frozenset[str]:
        """Every async name."""
        return frozenset(self._by_name)

    def legacy_names(self) -> frozenset[str]:
        """Every legacy name."""
        return frozenset(self._by_legacy_name)

    def domains(self) -> tuple[str, ...]:
        """The domains, in the order their first operation was registered."""
        return tuple(dict.fromkeys(op.domain for op in self._by_name.values()))

    def in_domain(self, domain: str) -> list[Operation]:
        """The operations of one domain, in registration order."""
        return [op for op in self._by_name.values() if op.domain == domain]

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name
