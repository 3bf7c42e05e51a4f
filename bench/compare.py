"""What comparing two equal results costs on the shadow path, in µs per comparison.

The pair is one player as both paths return it: a ``Player`` model (13 fields plus 13
stats) or its ``to_dict()`` (about 25 values with the nested stats), built twice so that
the two sides are equal but not the same objects. Each case is 20,000 calls per batch,
15 batches; the figure is the median batch's time per call. For reference, the engine's
whole ``observe()`` on the same pair (comparison, ignore rules, Prometheus and the rollup),
a mismatch (normalise and DeepDiff), and DeepDiff alone on the equal pair are measured.

Standalone: ``python -m bench.compare``.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from deepdiff import DeepDiff
from prometheus_client import CollectorRegistry

from persistence.events import HPChanged
from persistence.models import Player, Stats
from shadow import IgnoreRules, Observation, ShadowEngine, ShadowMetrics, compare
from shadow.rollup import MinuteRollup

BENCH = "comparison"
GOAL = "<= 5 us"
CALLS = 20_000
BATCHES = 15


@dataclass(frozen=True)
class _Operation:
    domain: str = "player"
    name: str = "get_player"
    unordered: bool = False
    ignore_fields: frozenset[str] = field(default_factory=frozenset)


class _NullSink:
    def record(self, divergence: object) -> None:
        """Discard."""


def player() -> Player:
    """A player as both paths return it."""
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    return Player(
        player_id=UUID(int=1),
        user_id=UUID(int=2),
        name="Ada",
        current_room_id="arkham_library",
        profession_id=2,
        stats=Stats(current_health=87, sanity=91, fear=3),
        inventory=[{"item_instance_id": f"item-{i}", "quantity": 1} for i in range(3)],
        equipped={"head": "item-0"},
        experience_points=1200,
        level=4,
        created_at=moment,
        last_active=moment,
    )


def per_call_us(fn: Callable[[], object], calls: int = CALLS, batches: int = BATCHES) -> float:
    """Median over batches of the time per call, in µs."""
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def _pair(value: Any, **kw: Any) -> tuple[Observation, Observation]:
    return (
        Observation("legacy", value, None, 0.001, **kw),
        Observation("async", copy.deepcopy(value), None, 0.001, **copy.deepcopy(kw)),
    )


def _engine() -> ShadowEngine:
    return ShadowEngine(
        _NullSink(), IgnoreRules(), ShadowMetrics(CollectorRegistry()), MinuteRollup()
    )


def row(case: str, median_us: float, goal: str = GOAL) -> dict[str, Any]:
    """One result row."""
    return {"bench": BENCH, "case": case, "median_us": round(median_us, 3), "goal": goal}


def run() -> list[dict[str, Any]]:
    """Measure equal comparisons against the goal, and the reference cases."""
    as_dict = _pair(player().to_dict())
    as_model = _pair(player())
    event = HPChanged(UUID(int=1), 90, 87, 100, -3, "claw", "combat")
    write = _pair(None, effects=player().to_dict(), events=(event,))
    engine, operation = _engine(), _Operation()
    differing = (as_dict[0], Observation("async", {**as_dict[1].value, "level": 5}, None, 0.001))
    plain = (as_dict[0].value, as_dict[1].value)
    return [
        row("equal player dicts", per_call_us(lambda: compare(*as_dict))),
        row("equal Player models", per_call_us(lambda: compare(*as_model))),
        row("equal write (effects + events)", per_call_us(lambda: compare(*write))),
        row(
            "engine.observe, equal player dicts",
            per_call_us(lambda: engine.observe(operation, *as_dict, mode="shadow")),
            "for reference",
        ),
        row(
            "one field differs (normalise + DeepDiff)",
            per_call_us(lambda: compare(*differing), calls=200, batches=5),
            "for reference",
        ),
        row(
            "DeepDiff on the equal player dicts",
            per_call_us(lambda: DeepDiff(*plain), calls=200, batches=5),
            "for reference",
        ),
    ]


def main() -> int:
    """Print the results as a table."""
    print(f"{'case':<44} {'median us':>10}  goal")
    for r in run():
        print(f"{r['case']:<44} {r['median_us']:>10.3f}  {r['goal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
