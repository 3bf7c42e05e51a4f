"""A started Shadow on the session's migrated database, with its tables emptied first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from shadow import EngineConfig, Observation, Result, Shadow, StoreConfig

TABLES = "divergence_exemplars, divergence_groups, shadow_ignore_rules, shadow_rollup_minute"


@dataclass(frozen=True)
class Op:
    """An operation as the router declares one."""

    domain: str = "players"
    name: str = "get_player"
    unordered: bool = False
    ignore_fields: frozenset[str] = field(default_factory=frozenset)


def legacy(value: Any, **kw: Any) -> Observation:
    return Observation("legacy", value, None, 0.003, **kw)


def async_(value: Any, **kw: Any) -> Observation:
    return Observation("async", value, None, 0.001, **kw)


def diverge(
    system: Shadow, op: Op = Op(), *, field_: str = "hp", i: int = 0, **inputs: Any
) -> Result:
    """Observe one result_mismatch at ``root[field_]``; the Result."""
    result = system.engine.observe(
        op, legacy({field_: 1}), async_({field_: 2}), mode="shadow", inputs={"i": i, **inputs}
    )
    assert result is not None and result.mismatched
    return result


async def clear(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
    finally:
        await conn.close()


MakeShadow = Callable[..., Shadow]


@pytest.fixture
async def make_shadow(database_url: str) -> AsyncIterator[MakeShadow]:
    """Build started Shadows on the session database (emptied); stopped at the end."""
    await clear(database_url)
    built: list[Shadow] = []

    def make(
        url: str = database_url, *, engine: EngineConfig | None = None, **store: Any
    ) -> Shadow:
        config = StoreConfig(**{"flush_interval_s": 0.05, **store})
        system = Shadow(
            url,
            registry=CollectorRegistry(),
            engine_config=engine,
            store_config=config,
            rules_interval_s=0.1,
        )
        system.start()
        built.append(system)
        return system

    yield make
    for system in built:
        await system.stop(max_wait_s=0.5)


@pytest.fixture
async def system(make_shadow: MakeShadow) -> Shadow:
    """A started Shadow with default settings (fast flushes)."""
    return make_shadow()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to look at the tables."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()
