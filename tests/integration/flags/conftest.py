"""A real Unleash server for the flag tests, started once per session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from tests.integration.unleash_server import UnleashServer, running_unleash


@pytest.fixture(scope="session")
def unleash_server() -> Iterator[UnleashServer]:
    """An Unleash server (npm unleash-server 7.5.1) on a database of its own."""
    with running_unleash() as server:
        yield server


async def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check()`` held; fails the test after ``within`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started
