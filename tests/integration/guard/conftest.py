"""Fixtures of the guard's integration tests: domains of their own, flags with overrides."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable

import pytest

from flags.overrides import OverriddenFlags
from flags.postgres import PostgresFlagStore


@pytest.fixture
def domains() -> list[str]:
    """Two domain names no other test uses."""
    tag = secrets.token_hex(3)
    return [f"player_{tag}", f"room_{tag}"]


@pytest.fixture
async def flags(database_url: str, domains: list[str]) -> AsyncIterator[OverriddenFlags]:
    """The postgres flag store wrapped with overrides, started."""
    wrapped = OverriddenFlags(
        PostgresFlagStore(database_url, domains, reload_interval=60), database_url, domains
    )
    await wrapped.start()
    yield wrapped
    await wrapped.close()


async def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check()`` held; fails the test after ``within`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - started
