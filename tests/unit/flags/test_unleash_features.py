"""Unleash feature definitions compile into the same decisions Unleash's own SDK makes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from UnleashClient import UnleashClient
from UnleashClient.constants import FEATURES_URL
from UnleashClient.utils import InstanceAllowType

from flags.model import FlagError, FlagState
from flags.unleash import FeatureCache, UnleashFlags
from flags.unleash_admin import strategy_body
from flags.unleash_features import Unreadable, read_flag

pytestmark = pytest.mark.unit

NOWHERE = "http://127.0.0.1:9/api"


def feature(
    mode: str = "shadow", percent: int = 25, services: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    state = FlagState("player", mode, percent, frozenset(services) if services else None)  # type: ignore[arg-type]
    return {
        "name": "dualpath.player",
        "enabled": True,
        "strategies": [strategy_body(state)],
        **extra,
    }


def payload(*features: dict[str, Any]) -> dict[str, Any]:
    return {"version": 2, "features": list(features)}


class TestReadFlag:
    """Each feature shape maps onto one flag, or is unreadable."""

    def test_what_set_writes_reads_back(self) -> None:
        state = read_flag("player", feature("live", 40, ["api"]))
        assert (state.mode, state.percent, state.services) == ("live", 40, frozenset({"api"}))
        assert (state.group_id, state.stickiness) == ("dualpath.player", "default")

    def test_missing_or_disabled_is_legacy(self) -> None:
        assert read_flag("player", None) == FlagState("player")
        assert read_flag("player", feature(enabled=False)) == FlagState("player")

    def test_default_strategy_is_everyone(self) -> None:
        f = feature(variants=[{"name": "async", "weight": 1000}])
        f["strategies"] = [{"name": "default", "parameters": {}}]
        assert read_flag("player", f).percent == 100

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"variants": []}, "one variant"),
            ({"variants": [{"name": "blue", "weight": 1000}]}, "not a mode"),
            ({"variants": [{"name": "live"}, {"name": "shadow"}]}, "one variant"),
            ({"name": "userWithId"}, "not flexibleRollout"),
            ({"constraints": [{"contextName": "userId", "operator": "IN"}]}, "constraints"),
            ({"segments": [1]}, "segments"),
            ({"parameters": {"rollout": "150"}}, "outside"),
        ],
    )
    def test_unreadable_shapes(self, change: dict[str, Any], message: str) -> None:
        f = feature()
        f["strategies"][0].update(change)
        with pytest.raises(Unreadable, match=message):
            read_flag("player", f)

    def test_several_strategies_are_unreadable(self) -> None:
        f = feature()
        f["strategies"] *= 2
        with pytest.raises(Unreadable, match="one strategy"):
            read_flag("player", f)


class TestAgainstTheSdk:
    """For every key and service, ``mode_for`` equals the SDK's own ``get_variant``."""

    @pytest.mark.parametrize(("percent", "services"), [(25, ["api"]), (60, None), (100, None)])
    def test_same_decisions(self, percent: int, services: list[str] | None) -> None:
        body = payload(feature("shadow", percent, services))
        cache = FeatureCache(lambda _raw: None)
        cache.bootstrap_from_dict(body)
        sdk = UnleashClient(
            url=NOWHERE,
            app_name="spec",
            cache=cache,
            disable_metrics=True,
            disable_registration=True,
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )
        flags = UnleashFlags(NOWHERE, ["player"], bootstrap=body)
        for i in range(1000):
            for service in ("api", "worker"):
                context = {"userId": f"p{i}", "properties": {"service": service}}
                variant = sdk.get_variant("dualpath.player", context)
                expected = variant["name"] if variant["feature_enabled"] else "legacy"
                assert flags.mode_for("player", f"p{i}", service) == expected.replace(
                    "disabled", "legacy"
                )


class TestProviderWithoutServer:
    """Payloads the SDK stores in the cache drive the provider; bad ones keep the last good."""

    def flags(self) -> UnleashFlags:
        return UnleashFlags(NOWHERE, ["player", "room"], bootstrap=payload(feature("live", 100)))

    def deliver(self, flags: UnleashFlags, body: Any) -> None:
        flags._cache.set(FEATURES_URL, json.dumps(body))

    def test_bootstrap_applies_at_construction(self) -> None:
        flags = self.flags()
        assert flags.mode_for("player", "k", None) == "live"
        assert flags.mode_for("room", "k", None) == "legacy"

    def test_unreadable_feature_keeps_last_known_good(self) -> None:
        flags = self.flags()
        broken = feature("live", 100)
        broken["strategies"][0]["variants"] = [{"name": "purple", "weight": 1}]
        self.deliver(flags, payload(broken))
        assert flags.mode_for("player", "k", None) == "live"

    def test_garbage_payload_keeps_last_known_good(self) -> None:
        flags = self.flags()
        flags._cache.set(FEATURES_URL, "not json")
        self.deliver(flags, {"nothing": True})
        assert flags.mode_for("player", "k", None) == "live"

    def test_disabled_feature_is_legacy_and_recorded(self) -> None:
        flags = self.flags()
        self.deliver(flags, payload(feature("live", 100, enabled=False)))
        assert flags.mode_for("player", "k", None) == "legacy"

    async def test_history_holds_observed_changes(self) -> None:
        flags = self.flags()
        self.deliver(flags, payload(feature("async", 100)))
        self.deliver(flags, payload(feature("async", 100)))
        changes = await flags.history("player")
        assert [(c.previous_mode, c.mode) for c in changes] == [
            ("live", "async"),
            ("legacy", "live"),
        ]
        assert changes[0].actor == "unleash"

    async def test_set_without_admin_token_is_refused(self) -> None:
        with pytest.raises(FlagError, match="managed in Unleash"):
            await self.flags().set("player", "legacy", reason="r", actor="ops")

    async def test_set_validates_before_anything(self) -> None:
        flags = UnleashFlags(NOWHERE, ["player"], admin_token="*:*.x")
        with pytest.raises(FlagError, match="percent"):
            await flags.set("player", "live", percent=101, reason="r", actor="ops")
