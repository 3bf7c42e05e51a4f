"""A real Unleash server for the flag tests, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.unleash_server import UnleashServer, running_unleash


@pytest.fixture(scope="session")
def unleash_server() -> Iterator[UnleashServer]:
    """An Unleash server (npm unleash-server 7.5.1) on a database of its own."""
    with running_unleash() as server:
        yield server
