"""Random sequences of operations give the same results, events and tables on both paths."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.rules import STAT_BOUNDS
from tests.contract.equivalence import Cid, Item, Obj, Op, Pid, differences, transcript
from tests.contract.stored import SeededWorld

pytestmark = pytest.mark.contract

players = st.integers(0, 3)
pids = st.builds(Pid, players, st.booleans())
objs = st.builds(Obj, players)
cids = st.builds(Cid, st.integers(0, 2))
items = st.builds(Item, st.integers(0, 3))
amounts = st.one_of(st.integers(0, 60), st.sampled_from([-5, "7", 2.5, None, True]))
deltas = st.one_of(st.integers(-60, 60), st.sampled_from(["3", 1.5, None, False]))
fields = st.sampled_from(
    [*STAT_BOUNDS, "strength'; DROP TABLE players; --", "is_admin", "current_health"]
)
rooms = st.sampled_from(["arkham_001", "innsmouth_000", "dunwich_004", "nowhere_1"])
stacks = st.integers(0, 21).map(lambda n: [{"prototype_id": "key.brass", "quantity": 2}] * n)
THEN = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
DECAY_NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def op(method: str, *args: Any, **kwargs: Any) -> Op:
    """An ``Op`` from call syntax."""
    return Op(method, args, tuple(kwargs.items()))


edits = st.one_of(
    st.tuples(st.just("name"), st.sampled_from(["Keziah Mason", "WILBUR0000", "x" * 51, ""])),
    st.tuples(st.just("stats.sanity"), st.integers(-1, 101)),
    st.tuples(st.just("stats.current_health"), st.integers(-12, 120)),
    st.tuples(st.just("inventory"), stacks),
    st.tuples(st.just("current_room_id"), rooms),
    st.tuples(st.just("experience_points"), st.sampled_from([0, 450, -1, "9"])),
)
writes = st.one_of(
    st.builds(lambda o, a: op("damage_player", o, a, "claw"), objs, amounts),
    st.builds(lambda o, a: op("heal_player", o, a), objs, amounts),
    st.builds(lambda p, d: op("update_player_health", p, d, "ritual"), pids, deltas),
    st.builds(lambda o, a: op("gain_experience", o, a, "kill"), objs, amounts),
    st.builds(lambda p, d: op("update_player_xp", p, d, "curse"), pids, deltas),
    st.builds(lambda p, f, d: op("update_player_stat_field", p, f, d, "x"), pids, fields, deltas),
    st.builds(
        lambda p, w: op("update_player_last_active", p, w), pids, st.sampled_from([None, THEN])
    ),
    st.builds(lambda o, e: op("edit_and_save", o, *e), objs, edits),
    st.builds(lambda o, r: op("misroom_and_fix", o, r), objs, rooms),
    st.builds(lambda p: op("update_player_health", p, 5), st.just("not-a-uuid")),
)
container_ops = st.one_of(
    st.builds(
        lambda c, cap, lock: op(
            "create_container",
            "environment",
            room_id="arkham_001",
            capacity_slots=cap,
            lock_state=lock,
            container_id=c,
        ),
        cids,
        st.sampled_from([0, 1, 2, 5, 21]),
        st.sampled_from(["unlocked", "unlocked", "locked", "ajar"]),
    ),
    st.builds(lambda c, i: op("add_item_to_container", c, i), cids, items),
    st.builds(lambda c, i: op("remove_item_from_container", c, i), cids, items),
    st.builds(lambda c: op("delete_container", c), cids),
    st.builds(
        lambda c, lock: op("update_container", c, lock_state=lock),
        cids,
        st.sampled_from(["unlocked", "locked", "ajar"]),
    ),
    st.builds(
        lambda i, proto, q: op("create_item_instance", i, proto, quantity=q),
        items,
        st.sampled_from(["key.brass", "tome.necronomicon", "bogus.proto"]),
        st.sampled_from([1, 3, 0]),
    ),
    st.builds(lambda i: op("delete_item_instance", i), items),
)
reads = st.one_of(
    st.builds(lambda p: op("get_player_by_id", p), pids),
    st.builds(lambda p: op("get_players_batch", [p, Pid(0)]), pids),
    st.builds(lambda lim, off: op("list_players", lim, off), st.integers(1, 6), st.integers(0, 18)),
    st.builds(lambda r: op("get_players_in_room", r), rooms),
    st.builds(lambda c: op("get_container", c), cids),
    st.builds(lambda c: op("get_containers_by_room_id", "arkham_001"), cids),
    st.just(op("get_decayed_containers", DECAY_NOW)),
    st.builds(lambda i: op("get_item_instance", i), items),
)
units_of_work = st.builds(
    lambda inner, commit: op("transaction", tuple(inner), commit),
    st.lists(st.one_of(writes, container_ops, reads), min_size=1, max_size=4),
    st.booleans(),
)
sequences = st.lists(
    st.one_of(writes, writes, container_ops, container_ops, reads, units_of_work), max_size=12
)


class TestEquivalence:
    """The same random sequence on two identically seeded databases, one per path."""

    @settings(
        max_examples=18,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(ops=sequences)
    def test_same_transcript(
        self, seeded: SeededWorld, second_world: SeededWorld, ops: list[Op]
    ) -> None:
        legacy = asyncio.run(transcript("legacy", seeded, ops))
        modern = asyncio.run(transcript("async", second_world, ops))
        assert differences(legacy, modern) == []
        assert legacy == modern
