"""A primary write cancels the shadows of its entity; they are skipped, not failed."""

from __future__ import annotations

import asyncio

import pytest

from routing.shadowing.preemption import Preemption
from routing.shadowing.sides import Outcome

pytestmark = pytest.mark.unit

ENTITY = [("player", "1")]


async def slow() -> Outcome:
    await asyncio.sleep(10)
    return Outcome(value="late")


class TestPreemption:
    """Primaries first."""

    async def test_a_primary_cancels_the_running_shadow(self) -> None:
        preemption = Preemption()
        shadow = asyncio.ensure_future(preemption.run(slow, ENTITY, lambda: False))
        await asyncio.sleep(0.01)
        preemption.preempt(ENTITY)
        assert (await shadow).skipped == "preempted"

    async def test_a_primary_in_flight_stops_it_before_it_starts(self) -> None:
        started = []

        async def attempt() -> Outcome:
            started.append(True)
            return Outcome(value=1)

        done = await Preemption().run(attempt, ENTITY, lambda: True)
        assert done.skipped == "preempted" and started == []

    async def test_other_entities_are_left_alone(self) -> None:
        preemption = Preemption()

        async def quick() -> Outcome:
            await asyncio.sleep(0.02)
            return Outcome(value=1)

        shadow = asyncio.ensure_future(preemption.run(quick, ENTITY, lambda: False))
        await asyncio.sleep(0.005)
        preemption.preempt([("player", "2")])
        assert (await shadow).value == 1

    async def test_cancelling_the_shadow_itself_still_cancels(self) -> None:
        preemption = Preemption()
        shadow = asyncio.ensure_future(preemption.run(slow, ENTITY, lambda: False))
        await asyncio.sleep(0.01)
        shadow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await shadow
