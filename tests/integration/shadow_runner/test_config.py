"""The runner's limits come from settings, and bad ones are refused before anything opens."""

from __future__ import annotations

import pydantic
import pytest

from app.bootstrap import open_system
from tests.integration.shadow_runner.conftest import settings_for

pytestmark = pytest.mark.integration


async def test_settings_reach_the_runner(database_url: str) -> None:
    settings = settings_for(database_url, shadow_timeout_s=3.5, shadow_write_hold_ms=1234)
    async with open_system(settings) as system:
        config = system.shadow_runner.config
        assert (config.shadow_timeout_s, config.write_hold_ms) == (3.5, 1234)


@pytest.mark.parametrize("hold_ms", [0, -5, 60_001, "soon"])
def test_a_bad_write_hold_is_refused(database_url: str, hold_ms: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="shadow_write_hold_ms"):
        settings_for(database_url, shadow_write_hold_ms=hold_ms)
