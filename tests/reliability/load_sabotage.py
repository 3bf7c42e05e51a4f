"""A traffic run whose router drops some heals but acknowledges them: the tally must notice."""

from __future__ import annotations

from typing import Any

from tests.reliability.conftest import settings_for


class DroppingHeals:
    """The router, except that every ``every``-th heal returns at once and writes nothing."""

    def __init__(self, router: Any, every: int) -> None:
        self._router = router
        self._every = every
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._router, name)

    async def heal_player(self, player: Any, amount: int) -> int:
        self.calls += 1
        if self.calls % self._every == 0:
            return int(player.stats.current_health)
        result: int = await self._router.heal_player(player, amount)
        return result


async def dropped_heals_run(url: str, every: int) -> dict[str, Any]:
    """A short tally run in this process through ``DroppingHeals``; the tally as plain data."""
    from app.bootstrap import open_system
    from app.service.traffic import run_traffic

    async with open_system(settings_for(url, guard_enabled=False)) as system:
        router = DroppingHeals(system.router, every)
        report = await run_traffic(
            router, seconds=1.5, concurrency=8, seed=5, tally=4, events=system.events
        )
    assert report.tally is not None and router.calls >= every
    return report.tally.as_dict()
