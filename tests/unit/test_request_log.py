"""The service's per-request warnings (slow or 5xx) are one per window, with a count."""

from __future__ import annotations

import pytest

from app.service.metrics import Throttle

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class TestThrottle:
    """The first event of a window is allowed with the count refused before it."""

    def test_one_per_window(self) -> None:
        clock = Clock()
        throttle = Throttle(60.0, clock=clock)
        assert throttle.allow() == 0
        assert [throttle.allow() for _ in range(3)] == [None, None, None]
        clock.now += 59.9
        assert throttle.allow() is None
        clock.now += 0.2
        assert throttle.allow() == 4
        assert throttle.allow() is None
