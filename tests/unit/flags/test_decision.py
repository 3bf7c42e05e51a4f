"""The compiled decision table routes each call by domain, service and rollout bucket."""

from __future__ import annotations

import pytest

from flags.bucketing import bucket
from flags.decision import DecisionTable
from flags.model import FlagState

pytestmark = pytest.mark.unit

KEYS = [f"player-{i}" for i in range(2000)]


def table(*states: FlagState) -> DecisionTable:
    return DecisionTable({s.domain: s for s in states})


class TestWholeDomain:
    """Unknown domains, 0 % and 100 % never hash."""

    def test_unknown_domain_is_legacy(self) -> None:
        assert table(FlagState("player", "live")).mode_for("room", "k", None) == "legacy"

    def test_empty_table_is_legacy(self) -> None:
        assert DecisionTable({}).mode_for("player", "k", "api") == "legacy"

    def test_hundred_percent_gives_the_mode_to_every_key(self) -> None:
        t = table(FlagState("player", "async"))
        assert {t.mode_for("player", k, None) for k in KEYS} == {"async"}
        assert t.mode_for("player", None, None) == "async"

    def test_zero_percent_is_legacy_for_every_key(self) -> None:
        t = table(FlagState("player", "async", percent=0))
        assert {t.mode_for("player", k, None) for k in [*KEYS, None]} == {"legacy"}

    def test_states_are_kept(self) -> None:
        state = FlagState("player", "shadow", 30)
        assert table(state).states == {"player": state}


class TestServices:
    """A flag limited to services routes only calls from those services."""

    def test_listed_service_gets_the_mode(self) -> None:
        t = table(FlagState("player", "live", services=frozenset({"api", "worker"})))
        assert t.mode_for("player", "k", "worker") == "live"

    def test_other_and_missing_services_are_legacy(self) -> None:
        t = table(FlagState("player", "live", services=frozenset({"api"})))
        assert t.mode_for("player", "k", "batch") == "legacy"
        assert t.mode_for("player", "k", None) == "legacy"


class TestRollout:
    """A partial rollout follows Unleash's bucket of ``dualpath.<domain>:<key>``."""

    def test_keys_in_the_bucket_range_get_the_mode(self) -> None:
        t = table(FlagState("player", "shadow", 25))
        for key in KEYS:
            expected = "shadow" if bucket("dualpath.player", key) <= 25 else "legacy"
            assert t.mode_for("player", key, None) == expected

    def test_the_share_is_close_to_the_percent(self) -> None:
        t = table(FlagState("player", "shadow", 25))
        share = sum(t.mode_for("player", k, None) == "shadow" for k in KEYS) / len(KEYS)
        assert 0.22 < share < 0.28

    def test_the_decision_is_sticky_per_key(self) -> None:
        t = table(FlagState("player", "live", 50))
        assert [t.mode_for("player", k, None) for k in KEYS] == [
            t.mode_for("player", k, None) for k in KEYS
        ]

    def test_group_id_overrides_the_flag_name(self) -> None:
        t = table(FlagState("player", "live", 40, group_id="cohort-a"))
        for key in KEYS[:300]:
            expected = "live" if bucket("cohort-a", key) <= 40 else "legacy"
            assert t.mode_for("player", key, None) == expected

    def test_no_key_draws_a_random_bucket(self) -> None:
        t = table(FlagState("player", "live", 50))
        assert {t.mode_for("player", None, None) for _ in range(500)} == {"live", "legacy"}

    def test_random_stickiness_ignores_the_key(self) -> None:
        t = table(FlagState("player", "live", 50, stickiness="random"))
        assert {t.mode_for("player", "same-key", None) for _ in range(500)} == {"live", "legacy"}
