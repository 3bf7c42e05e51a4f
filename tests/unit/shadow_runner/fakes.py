"""In-memory twins of the two paths, with units of work, for the runner's unit tests.

One shared ``Store`` holds a player's HP. A write in a unit of work stages its change and
its event; ``commit()`` applies and publishes them, ``rollback()`` drops them. Both fakes
take their methods' behaviour from ``Store`` so a test can make one of them diverge.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


@dataclass
class Player:
    id: str
    hp: int = 100


@dataclass
class Store:
    hp: int = 100
    published: list[object] = field(default_factory=list)
    commits: int = 0


class Unit:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.events: list[object] = []
        self.staged: int | None = None
        self.sql: list[str] = []

    def run(self, work: Any) -> Any:
        """Our own SQL: only the shadow's settings script (no entities are configured)."""
        return work(SimpleNamespace(cursor=SimpleNamespace(execute=self.sql.append)))

    def commit(self) -> None:
        if self.staged is not None:
            self.store.hp = self.staged
        self.store.commits += 1
        self.store.published += self.events
        self.events, self.staged = [], None

    def rollback(self) -> None:
        self.events, self.staged = [], None


class AsyncUnit(Unit):
    async def run(self, work: Any) -> Any:  # type: ignore[override]
        async def execute(script: str) -> None:
            self.sql.append(script)

        result, _events = await work(SimpleNamespace(execute=execute))
        return result

    async def commit(self) -> None:  # type: ignore[override]
        Unit.commit(self)

    async def rollback(self) -> None:  # type: ignore[override]
        Unit.rollback(self)


class Legacy:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.unit: ContextVar[Unit | None] = ContextVar("legacy_unit", default=None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Unit]:
        unit = Unit(self.store)
        token = self.unit.set(unit)
        try:
            yield unit
        finally:
            self.unit.reset(token)

    def get_player(self, player_id: str) -> Player:
        return Player(player_id, self.store.hp)

    def damage_player(self, player: Player, amount: int) -> int:
        return _damage(self.store, self.unit.get(), player, amount)


class Async:
    def __init__(self, store: Store, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.store = store
        self.delay = delay
        self.error = error
        self.unit: ContextVar[Unit | None] = ContextVar("async_unit", default=None)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncUnit]:
        unit = AsyncUnit(self.store)
        token = self.unit.set(unit)
        try:
            yield unit
        finally:
            self.unit.reset(token)

    async def get_player_by_id(self, player_id: str) -> Player:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return Player(player_id, self.store.hp)

    async def damage_player(self, player: Player, amount: int) -> int:
        await asyncio.sleep(self.delay)
        return _damage(self.store, self.unit.get(), player, amount)


def _damage(store: Store, unit: Unit | None, player: Player, amount: int) -> int:
    new = store.hp - amount
    event = ("HPChanged", player.id, new)
    if unit is None:
        store.hp = new
        store.published.append(event)
    else:
        unit.staged = new
        unit.events.append(event)
    player.hp = new
    return new


class Engine:
    """Records what it is shown; says "mismatched" when told to."""

    def __init__(self, mismatched: bool = False) -> None:
        self.seen: list[SimpleNamespace] = []
        self.mismatched = mismatched

    def observe(
        self, operation: Any, primary: Any, shadow: Any, *, mode: str, inputs: Any = None,
        timed_out: bool = False, captured: Any = None,
    ) -> Any:  # fmt: skip
        self.seen.append(SimpleNamespace(primary=primary, shadow=shadow, timed_out=timed_out))
        return SimpleNamespace(
            mismatched=self.mismatched, kind="result_mismatch", domain=operation.domain,
            operation=operation.name, diff_paths=("root",),
        )  # fmt: skip


class Flags:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def mode_for(self, domain: str, key: str | None, service: str | None) -> str:
        return self.mode


class Coverage:
    """Counts what the runner reports to its coverage sink."""

    def __init__(self) -> None:
        self.known: tuple[list[tuple[str, str]], list[str]] = ([], [])
        self.calls: Counter[tuple[str, str]] = Counter()
        self.skips: Counter[tuple[str, str, str]] = Counter()

    def know(self, operations: Iterable[tuple[str, str]], reasons: Iterable[str]) -> None:
        self.known = (list(operations), list(reasons))

    def served(self, domain: str, operation: str) -> None:
        self.calls[(domain, operation)] += 1

    def skipped(self, domain: str, operation: str, reason: str) -> None:
        self.skips[(domain, operation, reason)] += 1
