"""Bucketing agrees with Unleash's own cross-SDK test cases (``@unleash/client-specification``).

The cases come from the npm package installed in ``tests/node`` (version pinned in its
package.json), not from copies: every gradual or flexible rollout whose outcome depends only
on the stickiness hash is checked, and so is the compiled decision table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from flags.bucketing import bucket, in_rollout, random_bucket
from flags.decision import DecisionTable
from flags.model import FlagState
from tests.node.packages import node_package, node_package_version

pytestmark = pytest.mark.unit

SPEC_PACKAGE = "@unleash/client-specification"
SPEC_FILES = (
    "03-gradual-rollout-user-id-strategy.json",
    "04-gradual-rollout-session-id-strategy.json",
    "10-flexible-rollout-strategy.json",
    "12-custom-stickiness.json",
)
KEY_FIELDS = {"gradualRolloutUserId": "userId", "gradualRolloutSessionId": "sessionId"}


class Case(NamedTuple):
    description: str
    group_id: str
    percent: int
    key: str | None
    expected: bool


def _sticky_value(strategy: dict[str, Any], context: dict[str, Any]) -> tuple[bool, str | None]:
    """(applies, key): the value Unleash would hash, or None for a random bucket."""
    params = strategy["parameters"]
    field = KEY_FIELDS.get(strategy["name"]) or params.get("stickiness", "default")
    if field == "default":
        return True, context.get("userId") or context.get("sessionId")
    value = context.get(field) or context.get("properties", {}).get(field)
    return value is not None, value


def _rollout(strategy: dict[str, Any]) -> tuple[str, int] | None:
    params = strategy.get("parameters", {})
    percent = params.get("rollout", params.get("percentage"))
    if strategy["name"] not in (*KEY_FIELDS, "flexibleRollout") or strategy.get("constraints"):
        return None
    return params["groupId"], int(percent)


def _cases_in(spec: dict[str, Any]) -> Iterator[Case]:
    features = {f["name"]: f for f in spec["state"]["features"]}
    for test in spec["tests"]:
        strategies = features[test["toggleName"]]["strategies"]
        rollout = _rollout(strategies[0]) if len(strategies) == 1 else None
        if rollout is None:
            continue
        applies, key = _sticky_value(strategies[0], test["context"])
        if applies and (key is not None or rollout[1] in (0, 100)):
            yield Case(test["description"], *rollout, key, test["expectedResult"])


def _spec_cases() -> list[Case]:
    root = node_package(SPEC_PACKAGE) / "specifications"
    cases: list[Case] = []
    for name in SPEC_FILES:
        cases.extend(_cases_in(json.loads((root / name).read_text())))
    return cases


@pytest.fixture(scope="module")
def spec_cases() -> list[Case]:
    cases = _spec_cases()
    assert len(cases) >= 20, f"too few rollout cases found in {SPEC_PACKAGE}"
    return cases


class TestAgainstClientSpecification:
    """Every hash-decided rollout case in Unleash's specification gives Unleash's answer."""

    def test_the_specification_package_is_the_pinned_one(self) -> None:
        assert node_package_version(SPEC_PACKAGE) == "5.2.2"

    def test_in_rollout_matches_every_case(self, spec_cases: list[Case]) -> None:
        wrong = [c for c in spec_cases if in_rollout(c.group_id, c.key, c.percent) != c.expected]
        assert wrong == []

    def test_decision_table_matches_every_case(self, spec_cases: list[Case]) -> None:
        def decided(case: Case) -> bool:
            state = FlagState("d", "live", case.percent, group_id=case.group_id)
            return DecisionTable({"d": state}).mode_for("d", case.key, None) == "live"

        assert [c for c in spec_cases if decided(c) != c.expected] == []


class TestBucket:
    """Buckets run 1-100 and are stable for a key."""

    def test_known_value(self) -> None:
        # From the specification: Feature.flexibleRollout.10 is on for userId 174 only.
        assert bucket("Feature.flexibleRollout.10", "174") <= 10
        assert bucket("Feature.flexibleRollout.10", "499") > 10

    def test_buckets_cover_1_to_100(self) -> None:
        seen = {bucket("dualpath.player", str(i)) for i in range(5000)}
        assert seen == set(range(1, 101))

    def test_random_bucket_covers_1_to_100(self) -> None:
        assert {random_bucket() for _ in range(20000)} == set(range(1, 101))

    def test_no_key_at_zero_and_hundred_percent(self) -> None:
        assert not any(in_rollout("g", None, 0) for _ in range(1000))
        assert all(in_rollout("g", None, 100) for _ in range(1000))
