"""Fixtures of the fault tests: a seeded database of their own, traffic, measured latencies."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import create_database, drop_database

MEASURED: list[str] = []


@pytest.fixture(scope="module")
def seeded_database() -> Iterator[str]:
    """A migrated database with a small seeded world, for one test module."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_reliability")
    try:
        upgrade(url)
        seed_world(url, players=20, seed=11)
        yield url
    finally:
        drop_database(url)


def settings_for(url: str, **overrides: Any) -> Any:
    """Settings for a system under test: the postgres flag store, the guard on."""
    from app.settings import Settings

    return Settings(DATABASE_URL=url, **{"flag_provider": "postgres", **overrides})


@dataclass
class Traffic:
    """Outcomes of calls made by ``run_traffic``: by exception class name, or ``ok``."""

    outcomes: Counter[str] = field(default_factory=Counter)
    slowest_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


async def run_traffic(
    call: Callable[[int], Awaitable[Any]], traffic: Traffic, stop: asyncio.Event, workers: int = 4
) -> None:
    """``workers`` loops calling ``call(i)`` until ``stop`` is set, counting each outcome."""

    async def worker(offset: int) -> None:
        i = offset
        while not stop.is_set():
            started = time.monotonic()
            try:
                await call(i)
                traffic.outcomes["ok"] += 1
            except Exception as exc:
                traffic.outcomes[type(exc).__name__] += 1
            traffic.slowest_s = max(traffic.slowest_s, time.monotonic() - started)
            i += workers
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(n) for n in range(workers)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report what the fault tests measured."""
    if MEASURED:
        terminalreporter.section("reliability measurements")
        for line in MEASURED:
            terminalreporter.write_line(line)
