"""Run one sequence of operations on a path over a freshly seeded world, and record everything.

A ``Transcript`` holds, per step, the result (or the exception class) and the events published,
then a dump of every game table. Two paths are equivalent on a sequence when their transcripts
are equal. Operations name players, containers and items by index (``Obj``, ``Pid``, ``Cid``,
``Item``), so the same sequence means the same thing on two databases seeded alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from persistence.models import Player
from tests.contract.adapters import open_path
from tests.contract.expect import as_player
from tests.contract.stored import SeededWorld, StoredState


@dataclass(frozen=True)
class Obj:
    """The run's own Player object for the i-th player (it goes stale as writes happen)."""

    index: int


@dataclass(frozen=True)
class Pid:
    """The i-th player's id, as a UUID or as text."""

    index: int
    text: bool = False


@dataclass(frozen=True)
class Cid:
    """A container id made up for the test."""

    index: int


@dataclass(frozen=True)
class Item:
    """An item instance id made up for the test."""

    index: int


@dataclass(frozen=True)
class Op:
    """A contract method, or ``edit_and_save``, ``misroom_and_fix``, ``transaction``."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __repr__(self) -> str:
        kwargs = "".join(f", {k}={v!r}" for k, v in self.kwargs)
        return f"{self.method}({', '.join(map(repr, self.args))}{kwargs})"


@dataclass
class Transcript:
    """What a path did with a sequence: per step (op, outcome, events), then the tables."""

    steps: list[tuple[str, Any, list[object]]] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)


class Run:
    """One path over one freshly seeded database."""

    def __init__(self, path: Any, stored: StoredState, since: datetime) -> None:
        self.path, self.stored, self.since = path, stored, since
        self.players: list[Player] = [as_player(r) for r in stored.players()[:4]]

    def resolve(self, value: Any) -> Any:
        """A reference as this run's concrete value."""
        if isinstance(value, Obj):
            return self.players[value.index]
        if isinstance(value, Pid):
            pid = self.players[value.index].player_id
            return str(pid) if value.text else pid
        if isinstance(value, Cid):
            return UUID(int=value.index + 1, version=4)
        if isinstance(value, Item):
            return f"item_eq_{value.index}"
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    async def apply(self, op: Op) -> Any:
        """Run ``op`` and return what the caller would observe."""
        args = [self.resolve(a) for a in op.args]
        kwargs = {k: self.resolve(v) for k, v in op.kwargs}
        if op.method == "edit_and_save":
            player, name, value = args
            return await self._edit_and_save(player, name, value)
        if op.method == "transaction":
            inner, commit = op.args
            return await self._transaction(inner, commit)
        if op.method == "misroom_and_fix":
            player, room = args
            player.current_room_id = room
            fixed = await self.path.call("validate_and_fix_player_room", player)
            return fixed, player.current_room_id
        result = await self.path.call(op.method, *args, **kwargs)
        touched = [a for a in args if isinstance(a, Player)]
        return (result, touched) if touched else result

    async def _transaction(self, inner: tuple[Op, ...], commit: bool) -> list[Any]:
        """Run ``inner`` in one unit of work, then commit or roll back; record each outcome."""
        outcomes: list[Any] = []
        async with self.path.transaction() as uow:
            for op in inner:
                outcomes.append((await self.step(op))[:2])
            outcomes.append(("pending events", list(uow.events)))
            try:
                await (uow.commit() if commit else uow.rollback())
                outcomes.append(("ended", "ok"))
            except Exception as exc:  # the class is the outcome being compared
                outcomes.append(("ended", type(exc).__name__))
        return outcomes

    async def _edit_and_save(self, player: Player, name: str, value: Any) -> Any:
        edited = dataclasses.replace(player, stats=dataclasses.replace(player.stats))
        if name.startswith("stats."):
            setattr(edited.stats, name.removeprefix("stats."), value)
        else:
            setattr(edited, name, value)
        await self.path.call("save_player", edited)
        self.players[self.players.index(player)] = edited
        return None

    async def step(self, op: Op) -> tuple[str, Any, list[object]]:
        """One step of the transcript."""
        before = len(self.path.published)
        try:
            outcome: Any = ("ok", normal(await self.apply(op), self.since))
        except Exception as exc:  # the class is the outcome being compared
            outcome = ("raised", type(exc).__name__)
        return repr(op), outcome, list(self.path.published[before:])


async def transcript(name: str, world: SeededWorld, ops: list[Op]) -> Transcript:
    """Restore ``world``, run ``ops`` on the path called ``name``, and record it all."""
    world.restore()
    stored = world.state
    path = await open_path(name, world.database_url)
    try:
        run = Run(path, stored, stored.value("SELECT clock_timestamp()"))
        result = Transcript()
        for op in ops:
            result.steps.append(await run.step(op))
        result.tables = stored.dump(since=run.since)
        return result
    finally:
        await path.close()


def normal(value: Any, since: datetime) -> Any:
    """Plain data, with timestamps written by the database's now() masked."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _mask(k, normal(v, since), since) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normal(v, since) for v in value]
    return value


def _mask(key: str, value: Any, since: datetime) -> Any:
    recent = isinstance(value, datetime) and value >= since
    return "<now>" if recent and key in ("created_at", "updated_at", "last_active") else value


def differences(left: Transcript, right: Transcript) -> list[str]:
    """Human-readable differences between two transcripts, first divergent step first."""
    found = [
        f"step {n} {a[0]}: legacy {_short(a[1:])} != async {_short(b[1:])}"
        for n, (a, b) in enumerate(zip(left.steps, right.steps, strict=True))
        if a != b
    ]
    for table in left.tables:
        if left.tables[table] != right.tables[table]:
            only_l = [r for r in left.tables[table] if r not in right.tables[table]]
            only_r = [r for r in right.tables[table] if r not in left.tables[table]]
            found.append(
                f"table {table}: legacy only {_short(only_l)}; async only {_short(only_r)}"
            )
    return found


def _short(value: Any, limit: int = 1500) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
