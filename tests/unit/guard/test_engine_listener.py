"""The shadow engine's listener hook: every counted Result, and failures go to ``raised``."""

from __future__ import annotations

import pytest

from shadow.observation import Observation, Result
from tests.unit.shadow.test_engine import Op, make_env

pytestmark = pytest.mark.unit


class TestListeners:
    """Listeners see each Result once; one that raises never reaches the caller."""

    def test_listener_gets_each_result(self) -> None:
        env = make_env()
        seen: list[Result] = []
        env.engine.add_listener(seen.append)
        same = Observation("legacy", 1, None, 0.001), Observation("async", 1, None, 0.001)
        other = Observation("async", 2, None, 0.001)
        env.engine.observe(Op(), *same, mode="shadow")
        env.engine.observe(Op(), same[0], other, mode="shadow")
        assert [r.mismatched for r in seen] == [False, True]
        assert env.raised == []

    def test_failing_listener_goes_to_raised(self) -> None:
        env = make_env()

        def broken(_result: Result) -> None:
            raise RuntimeError("listener broke")

        env.engine.add_listener(broken)
        obs = Observation("legacy", 1, None, 0.001), Observation("async", 1, None, 0.001)
        found = env.engine.observe(Op(), *obs, mode="shadow")
        assert found is not None and found.comparison.matched
        assert [(op, str(exc)) for op, exc in env.raised] == [("listener", "listener broke")]
