"""The names ``flags`` exports are its public API; changing them is a deliberate act."""

from __future__ import annotations

import pytest

import flags

pytestmark = pytest.mark.unit


def test_all_is_pinned() -> None:
    assert set(flags.__all__) == {
        "MODES",
        "SAFE_MODE",
        "DecisionTable",
        "EnvironmentFlags",
        "FlagChange",
        "FlagError",
        "FlagProvider",
        "FlagSourceUnavailable",
        "FlagState",
        "Mode",
        "PostgresFlagStore",
        "UnleashFlags",
        "bucket",
        "flag_name",
        "in_rollout",
        "parse_flags",
    }


def test_names_are_unique() -> None:
    assert len(set(flags.__all__)) == len(flags.__all__)


def test_every_name_exists() -> None:
    assert all(hasattr(flags, name) for name in flags.__all__)
