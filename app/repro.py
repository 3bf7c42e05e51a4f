"""A reproduction of a divergence group: a self-contained pytest file, and what it runs.

:func:`write_reproduction` turns one stored exemplar into a pytest file that carries
everything a replay needs: the operation, its inputs, the rows the call started from (the
captured rows, redacted columns as deterministic placeholders), both observations and the code
version. The file calls :func:`replay`, which on a database with the schema (``DATABASE_URL``,
else a fresh database on the test PostgreSQL, created and dropped around it) runs the
operation on each path exactly as a shadow write runs: in a transaction that restores the
captured rows, makes the call, reads the rows back, takes the events, and rolls back. Nothing
is committed, so the file cleans up after itself. It asserts that results, errors, write
effects and events agree: it fails while the bug is in the code and passes once it is fixed.
Legacy runs twice, and where it differs from itself (the columns ``now()`` fills) is noise,
left out of the comparison as calibration leaves it out of the shadow's: no hand-written list
says which columns those are.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import types
import typing
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from routing.shadowing.config import RunnerConfig
from routing.shadowing.judge import observation
from routing.shadowing.plans import Capture
from routing.shadowing.rows import capture_params, capture_sql, from_plain
from routing.shadowing.sides import Outcome
from routing.shadowing.transactions import shadow_write_async, shadow_write_legacy
from shadow.compare import CompareOptions, compare
from shadow.records import DivergenceGroup, Exemplar
from shadow.signature import normalise_path

__all__ = ["Replay", "exemplar_data", "replay", "reproduction", "write_reproduction"]

QUOTES = '"' * 3
#: Time enough for a replay's statements (the runner's own hold is for live traffic).
_CONFIG = RunnerConfig(write_hold_ms=30_000, shadow_timeout_s=30.0)

TEMPLATE = '''"""Reproduction of divergence group {signature}: {domain}.{operation}, {kind}.

Diverged at {paths} in code version {version!r} ({mode} mode, primary {primary}).
Run from the project root: ``pytest {filename}``. It uses DATABASE_URL (a database with the
schema) or a fresh database on the test PostgreSQL; it inserts the captured rows, runs
{operation} on both paths, each in a transaction it rolls back, and asserts that they agree.
It fails while the divergence is in the code and passes once it is fixed.

Captured: {note}.
"""

import json

from app.repro import replay

EXEMPLAR = json.loads(
    r"""
{data}
"""
)


def test_{operation}_agrees_on_both_paths():
    replay(EXEMPLAR).assert_agree()
'''


@dataclasses.dataclass(frozen=True, slots=True)
class Replay:
    """What the two paths did when replayed, and how they compare."""

    operation: str
    legacy: Outcome
    async_: Outcome
    diff: Mapping[str, Any]
    #: Where legacy run twice differed from itself (A/A): left out of ``diff`` as noise.
    noise: tuple[str, ...] = ()

    @property
    def agree(self) -> bool:
        """Whether results, errors, write effects and events agree."""
        return not self.diff

    def assert_agree(self) -> None:
        """``AssertionError`` with the differences, unless both paths agree."""
        from app.read_rows import NOT_REPRODUCED

        shown = json.dumps(self.diff, indent=2, sort_keys=True, default=str)
        if NOT_REPRODUCED in self.diff:
            raise AssertionError(
                f"{self.operation}: both paths agree, but not on what the read returned when it"
                f" diverged: the rows inserted are not the state it read ({UNCAPTURED}):\n{shown}"
            )
        if self.diff:
            noise = f"\nleft out as noise (legacy differs from itself there): {list(self.noise)}"
            raise AssertionError(
                f"{self.operation}: the paths disagree:\n{shown}{noise if self.noise else ''}"
            )


def exemplar_data(group: DivergenceGroup, exemplar: Exemplar) -> dict[str, Any]:
    """The plain data a reproduction carries for one exemplar of ``group``.

    A write carries the rows its primary captured before it wrote; a read, the rows its
    primary returned (``app.read_rows``). ``captured_note`` says which, or why there are none.
    """
    captured, note = _captured_state(group.operation, exemplar)
    return {
        "signature": group.signature,
        "domain": group.domain,
        "operation": group.operation,
        "kind": group.kind,
        "diff_paths": list(group.diff_paths),
        "mode": exemplar.mode,
        "primary_path": exemplar.primary_path,
        "code_version": exemplar.code_version,
        "inputs": exemplar.inputs,
        "captured": captured,
        "captured_note": note,
        "primary_result": exemplar.primary_result,
        "shadow_result": exemplar.shadow_result,
        "diff": exemplar.diff,
    }


def _captured_state(operation: str, exemplar: Exemplar) -> tuple[Any, str]:
    """The rows a replay of ``exemplar`` inserts, and a sentence saying what they are."""
    from app.operations import build_registry
    from app.read_rows import count_rows, read_state

    registry = build_registry()
    if operation in registry.names() and registry.get(operation).kind == "read":
        state = read_state(operation, exemplar.inputs or {}, exemplar.primary_result)
        captured, note = state.captured, state.note
    elif exemplar.captured:
        captured = exemplar.captured
        note = f"the rows the primary's {operation} started from: {count_rows(captured)}"
    else:
        captured, note = None, f"the primary's {operation} captured no rows"
    if captured is None:
        note += f"; it replays on the rows of the database it runs on ({UNCAPTURED})"
    return captured, note


#: What a reproduction without captured rows needs to reproduce anything.
UNCAPTURED = "set DATABASE_URL to a database that holds them"


def reproduction(data: Mapping[str, Any], filename: str) -> str:
    """The text of the pytest file for ``data`` (from :func:`exemplar_data`)."""
    return TEMPLATE.format(
        signature=data["signature"],
        domain=data["domain"],
        operation=data["operation"],
        kind=data["kind"],
        paths=", ".join(data["diff_paths"]) or "-",
        version=data["code_version"],
        mode=data["mode"],
        primary=data["primary_path"],
        filename=filename,
        note=(data.get("captured_note") or "-").replace(QUOTES, "'"),
        data=json.dumps(data, indent=2, sort_keys=True).replace('"""', '\\"\\"\\"'),
    )


def write_reproduction(data: Mapping[str, Any], path: Path) -> Path:
    """Write the reproduction of ``data`` to ``path``; the path written."""
    path.write_text(reproduction(data, path.name), encoding="utf-8")
    return path


def replay(data: Mapping[str, Any]) -> Replay:
    """Run the exemplar's operation on both paths from its captured rows; nothing committed.

    The code version a demo bug ran as (``dualpath run --demo-bug``) gets that bug again.
    """
    from app.demo_bugs import installed_for

    with _database() as (url, fresh), installed_for(data.get("code_version") or ""):
        return asyncio.run(_replay(data, url, fresh))


async def _replay(data: Mapping[str, Any], url: str, fresh: bool) -> Replay:
    from app.operations import LEGACY_NAMES, build_registry
    from persistence import AsyncPersistenceLayer, PersistenceLayer
    from persistence.events import EventBus

    name = data["operation"]
    operation = build_registry().get(name)
    legacy = PersistenceLayer(url, event_bus=EventBus(), pool_size=1)
    async_ = AsyncPersistenceLayer(EventBus(), database_url=url, pool_size=1)
    await async_.start()
    try:
        args, kwargs = _arguments(name, data["inputs"])
        pre, entities, keys = _captured(data.get("captured"))
        call = getattr(legacy, LEGACY_NAMES.get(name, name))

        async def on_legacy() -> Outcome:
            return await asyncio.to_thread(
                shadow_write_legacy, _Unchecked(legacy, fresh),
                lambda: call(*_copy(args), **_copy(kwargs)),
                _capture(entities, keys, "psycopg2"), pre, _CONFIG,
            )  # fmt: skip

        done_legacy = await on_legacy()
        again = await on_legacy()
        method = getattr(async_, name)
        done_async = await shadow_write_async(
            _UncheckedAsync(async_, fresh), lambda: method(*_copy(args), **_copy(kwargs)),
            _capture(entities, keys, "asyncpg"), pre, _CONFIG,
        )  # fmt: skip
    finally:
        await async_.close()
        legacy.close()
    options = CompareOptions(operation.unordered, frozenset(operation.ignore_fields))
    first = observation("legacy", done_legacy, operation)
    # A/A: where legacy differs from itself (the columns now() fills) is noise, not the bug
    noise = _differing(compare(first, observation("legacy", again, operation), options))
    found = _differing(compare(first, observation("async", done_async, operation), options))
    diff = {p: d for p, d in found.items() if normalise_path(p) not in _normalised(noise)}
    if done_legacy.skipped or done_async.skipped or again.skipped:
        skipped = {"legacy": done_legacy.skipped, "async": done_async.skipped}
        diff = {
            "replay": skipped if not again.skipped else {**skipped, "legacy again": again.skipped}
        }
    elif not diff and fresh and operation.kind == "read":
        from app.read_rows import unreproduced

        diff = unreproduced(data, done_legacy.value, done_legacy.error)
    return Replay(name, done_legacy, done_async, diff, tuple(sorted(noise)))


def _differing(found: Any) -> dict[str, Any]:
    return {p: d for m in found.mismatches for p, d in (m.detail or {m.kind: {}}).items()}


def _normalised(paths: Mapping[str, Any]) -> set[str]:
    return {normalise_path(p) for p in paths}


def _captured(plain: Any) -> tuple[Any, tuple[Any, ...], tuple[str, ...]]:
    if not plain:
        return None, (), ()
    pre = from_plain(plain)
    return pre, tuple(entity for entity, _key, _rows in pre), tuple(k for _e, k, _r in pre)


def _capture(entities: tuple[Any, ...], keys: tuple[str, ...], dialect: Any) -> Capture | None:
    if not entities:
        return None
    return Capture(
        entities,
        keys,
        capture_sql(entities, dialect, locking=True),
        capture_sql(entities, dialect, locking=False),
        capture_params(keys, dialect),
    )


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _arguments(name: str, inputs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The recorded inputs as the operation takes them (models rebuilt from their fields)."""
    from persistence import api

    method = getattr(api.AsyncPersistence, name)
    hints = typing.get_type_hints(method)
    params = [p for p in _parameters(method) if p != "self"]
    given = inputs.get("args", ())
    args = [_rebuild(v, hints.get(p, Any)) for p, v in zip(params, given, strict=False)]
    kwargs = {k: _rebuild(v, hints.get(k, Any)) for k, v in inputs.get("kwargs", {}).items()}
    return args, kwargs


def _parameters(method: Any) -> list[str]:
    import inspect

    return list(inspect.signature(method).parameters)


def _rebuild(value: Any, hint: Any) -> Any:
    """``value`` (normalised plain data) as an instance of ``hint``, where it can be."""
    if value is None or hint is Any:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _first_fit(value, [a for a in args if a is not type(None)])
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        inner = args[0] if args else Any
        return [_rebuild(v, inner) for v in value]
    if origin in (dict, Mapping):
        inner = args[1] if len(args) == 2 else Any
        return {k: _rebuild(v, inner) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return _dataclass(hint, value)
    return _scalar(value, hint)


def _first_fit(value: Any, hints: list[Any]) -> Any:
    for hint in sorted(hints, key=lambda h: h is str):
        with contextlib.suppress(Exception):
            return _rebuild(value, hint)
    return value


def _dataclass(cls: Any, value: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: _rebuild(v, hints.get(k, Any)) for k, v in value.items() if k in fields})


def _scalar(value: Any, hint: Any) -> Any:
    if hint is uuid.UUID:
        return uuid.UUID(str(value))
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is Decimal:
        return Decimal(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise TypeError(f"{value!r} is not {hint.__name__}")
    return value


#: On a fresh database the rows the captured ones reference (a player's user and room) are
#: not there: foreign keys are not checked while the captured rows are in (superuser only,
#: as the test PostgreSQL's user is; and the transaction is rolled back anyway).
UNCHECKED = "SET LOCAL session_replication_role = replica"


class _Unchecked:
    """The legacy path, whose units of work do not check foreign keys on a fresh database."""

    def __init__(self, path: Any, fresh: bool) -> None:
        self._path, self._fresh = path, fresh

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._path.transaction() as unit:
            if self._fresh:
                unit.run(lambda session: session.cursor.execute(UNCHECKED))
            yield unit


class _UncheckedAsync:
    """The async path, likewise."""

    def __init__(self, path: Any, fresh: bool) -> None:
        self._path, self._fresh = path, fresh

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._path.transaction() as unit:
            if self._fresh:

                async def unchecked(conn: Any) -> tuple[None, list[object]]:
                    await conn.execute(UNCHECKED)
                    return None, []

                await unit.run(unchecked)
            yield unit


@contextlib.contextmanager
def _database() -> Iterator[tuple[str, bool]]:
    """``DATABASE_URL``, else a fresh migrated database on the test PostgreSQL (dropped after).

    The test PostgreSQL is chosen as the test suite chooses it (``tests.database.resolve``):
    ``DUALPATH_TEST_ADMIN_URL``, else the one on 127.0.0.1:5432 if it answers, else an
    embedded PostgreSQL in a temporary directory (as ``make run`` has without DATABASE_URL),
    stopped and removed after. Yields the URL and whether the database is a fresh one.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url, False
        return
    from persistence.migrate import upgrade
    from tests.database import database_url, resolve

    server = resolve(os.environ)
    name = f"dualpath_repro_{uuid.uuid4().hex[:12]}"
    try:
        _admin(server.admin_url, f'CREATE DATABASE "{name}"')
        try:
            url = database_url(server.admin_url, name)
            upgrade(url)
            yield url, True
        finally:
            _admin(server.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        server.stop()


def _admin(admin_url: str, statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()
