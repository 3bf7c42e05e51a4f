"""Ignore rules drop known differences by domain, operation and path, until they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shadow.ignore import IgnoreRule, IgnoreRules

pytestmark = pytest.mark.unit

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def rule(
    path: str, *, domain: str = "players", op: str = "get", expires: datetime | None = None
) -> IgnoreRule:
    return IgnoreRule(domain, op, path, "known", "ops", expires)


class TestMatching:
    """A rule covers its exact path, or a prefix when it ends in '*'."""

    def test_exact_path(self) -> None:
        rules = IgnoreRules([rule("root['last_active']")])
        assert rules.remaining("players", "get", ("root['last_active']", "root['name']"), NOW) == (
            "root['name']",
        )

    def test_other_domain_or_operation_is_not_covered(self) -> None:
        rules = IgnoreRules([rule("root['a']", domain="items"), rule("root['a']", op="list")])
        assert rules.remaining("players", "get", ("root['a']",), NOW) == ("root['a']",)

    def test_trailing_wildcard_is_a_prefix(self) -> None:
        rules = IgnoreRules([rule("root['stats']*")])
        paths = ("root['stats']['fear']", "root['stats']", "root['name']")
        assert rules.remaining("players", "get", paths, NOW) == ("root['name']",)

    def test_indices_are_normalised_on_both_sides(self) -> None:
        rules = IgnoreRules([rule("root['inventory'][0]['added_at']")])
        assert rules.remaining("players", "get", ("root['inventory'][5]['added_at']",), NOW) == ()

    def test_everything_covered_leaves_nothing(self) -> None:
        rules = IgnoreRules([rule("root['a']"), rule("root['b']")])
        assert rules.remaining("players", "get", ("root['a']", "root['b']"), NOW) == ()


class TestExpiry:
    """An expired rule stops applying by itself, at match time."""

    def test_rule_applies_until_it_expires(self) -> None:
        rules = IgnoreRules([rule("root['a']", expires=NOW + timedelta(seconds=1))])
        assert rules.remaining("players", "get", ("root['a']",), NOW) == ()
        later = NOW + timedelta(seconds=2)
        assert rules.remaining("players", "get", ("root['a']",), later) == ("root['a']",)

    def test_rule_without_expiry_applies_forever(self) -> None:
        rules = IgnoreRules([rule("root['a']")])
        assert rules.remaining("players", "get", ("root['a']",), NOW + timedelta(days=9999)) == ()


def test_replace_swaps_the_whole_set() -> None:
    rules = IgnoreRules([rule("root['a']")])
    rules.replace([rule("root['b']")])
    assert len(rules) == 1
    assert rules.remaining("players", "get", ("root['a']", "root['b']"), NOW) == ("root['a']",)
