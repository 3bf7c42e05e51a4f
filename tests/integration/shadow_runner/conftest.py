"""A seeded world on the session database, an open system over it, and divergent paths.

Every test starts with the divergence tables empty and every domain in ``legacy``, and puts
the domains back in ``legacy`` when it ends. The world is seeded once for the package and
emptied afterwards, so the game tables are left as the other packages expect them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from app.bootstrap import System, open_system
from app.operations import DOMAINS, build_registry, shadow_writes
from app.settings import Settings
from flags.model import Mode
from persistence.seed import SeedSummary
from routing import PersistenceRouter
from routing.shadowing import RunnerConfig, ShadowRunner

#: The game's tables (migration 0001).
GAME_TABLES = (
    "users", "professions", "zones", "rooms", "room_exits", "players", "item_prototypes",
    "item_instances", "containers", "container_contents",
)  # fmt: skip
SHADOW_TABLES = (
    "divergence_exemplars, divergence_groups, shadow_ignore_rules, shadow_rollup_minute,"
    " shadow_calibration"
)


@pytest.fixture(scope="package")
def world(database_url: str) -> Iterator[SeedSummary]:
    """Twenty players, rooms, containers and items, seeded once for the package."""
    from persistence.seed import clear_world, seed_world

    summary = seed_world(database_url, players=20, seed=5, replace=True)
    yield summary
    clear_world(database_url)


async def clear_divergences(url: str) -> None:
    """Empty the divergence store's tables."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {SHADOW_TABLES} RESTART IDENTITY")
    finally:
        await conn.close()


def settings_for(url: str, **overrides: Any) -> Settings:
    """Settings over ``url``: postgres flags, no guard (it would roll the domains back)."""
    values: dict[str, Any] = {
        "DATABASE_URL": url,
        "flag_provider": "postgres",
        "guard_enabled": False,
        "shadow_timeout_s": 2.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The system's settings; override the fixture to change them."""
    return settings_for(database_url)


@pytest.fixture
async def system(
    database_url: str, world: SeedSummary, settings: Settings
) -> AsyncIterator[System]:
    """An open system over the seeded world, every domain in legacy at both ends."""
    await clear_divergences(database_url)
    async with open_system(settings) as opened:
        await set_mode(opened, "legacy")
        try:
            yield opened
        finally:
            await set_mode(opened, "legacy")


async def stamped_columns(url: str) -> frozenset[str]:
    """The game's columns the database clock fills (``DEFAULT now()``), read from the schema.

    The oracle the tests hold calibration's findings to: nothing in the declarations lists them.
    """
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_default = 'now()'"
            " AND table_name = ANY($1::text[])",
            list(GAME_TABLES),
        )
    finally:
        await conn.close()
    return frozenset(row["column_name"] for row in rows)


def column_of(path: str) -> str:
    """The column (the last key) a field path ends at: ``root['a'][0]['b']`` → ``b``."""
    return path.rsplit("['", 1)[-1].rstrip("']")


async def only_noise(system: System) -> list[Any]:
    """The groups recorded, each of which calibration judged noise at clock columns only.

    A group of any other status, or one with a path calibration did not judge noise, or one at
    a column the clock does not fill, fails. What a long shadowed run may leave behind without
    a hand-written list of clock columns (``docs/shadowing.md``).
    """
    stamped = await stamped_columns(system.database_url)
    groups = await system.divergences.groups()
    for g in groups:
        assert g.status == "noise" and g.status_by == "calibration", (
            g.operation, g.kind, g.status, g.diff_paths, g.noise_evidence,
        )  # fmt: skip
        assert g.noise_evidence is not None
        assert all(p["status"] == "noise" for p in g.noise_evidence["paths"]), g.noise_evidence
        assert {column_of(p) for p in g.diff_paths} <= stamped, (g.operation, g.diff_paths)
    return groups


async def set_mode(system: System, mode: Mode, domains: tuple[str, ...] = DOMAINS) -> None:
    """Put ``domains`` in ``mode``, stepping through shadow on the way to live."""
    for domain in domains:
        current = (await system.flags.get(domain)).mode
        if mode == "live" and current == "legacy":
            await system.flags.set(domain, "shadow", reason="test", actor="test")
        if current != mode:
            await system.flags.set(domain, mode, reason="test", actor="test")


async def settle(system: System) -> None:
    """Wait for every comparison, then for the store to write what they recorded."""
    await system.shadow_runner.drain()
    await system.divergences.flush()


class Divergent:
    """The async path, with some methods replaced; everything else passes through.

    A replacement is ``make(original) -> async function``; it gets the original's signature.
    """

    def __init__(self, target: Any, **replacements: Callable[[Any], Any]) -> None:
        self._target = target
        self._replacements = replacements

    async def close(self) -> None:
        """The system closes the real path; a router over this one must not."""

    def __getattr__(self, name: str) -> Any:
        original = getattr(self._target, name)
        make = self._replacements.get(name)
        if make is None:
            return original
        return functools.wraps(original)(make(original))


@pytest.fixture
async def divergent_router(
    system: System,
) -> AsyncIterator[Callable[..., PersistenceRouter]]:
    """Build routers over the legacy path and a divergent async path, judged by the system."""
    built: list[PersistenceRouter] = []

    def build(
        timeout_s: float = 2.0,
        raise_on_divergence: bool = False,
        write_hold_ms: int = 250,
        **replacements: Any,
    ) -> PersistenceRouter:
        router = PersistenceRouter(
            build_registry(),
            legacy=system.legacy,
            async_=Divergent(system.async_layer, **replacements),
            flags=system.flags,
            legacy_threads=8,
        )
        config = RunnerConfig(
            shadow_timeout_s=timeout_s,
            raise_on_divergence=raise_on_divergence,
            write_hold_ms=write_hold_ms,
        )
        runner = ShadowRunner.for_router(
            router, system.shadow.engine, shadow_writes(), config, coverage=system.shadow.coverage
        )
        runner.install(router)
        router.runner = runner  # type: ignore[attr-defined]
        built.append(router)
        return router

    yield build
    for router in built:
        await router.runner.drain()  # type: ignore[attr-defined]
        await router.close()
    await asyncio.sleep(0)
