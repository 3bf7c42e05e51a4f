"""Fixtures: the widget paths, a fixed flag provider and a router over them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from routing import PersistenceRouter
from tests.unit.routing.widgets import (
    AsyncWidgets,
    FixedFlags,
    LegacyWidgets,
    Store,
    seeded_store,
    widget_registry,
)


@pytest.fixture
def store() -> Store:
    return seeded_store()


@pytest.fixture
def flags() -> FixedFlags:
    return FixedFlags()


@pytest.fixture
async def router(store: Store, flags: FixedFlags) -> AsyncIterator[PersistenceRouter]:
    router = PersistenceRouter(
        widget_registry(),
        legacy=LegacyWidgets(store),
        async_=AsyncWidgets(store),
        flags=flags,
        legacy_threads=4,
    )
    yield router
    await router.close()
