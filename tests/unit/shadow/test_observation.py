"""The frozen nouns: what a Result reports follows from its Comparison."""

from __future__ import annotations

import dataclasses

import pytest

from shadow.observation import (
    EFFECT_MISMATCH,
    MATCH,
    RESULT_MISMATCH,
    Comparison,
    Mismatch,
    Observation,
    Result,
)

pytestmark = pytest.mark.unit

A = Observation("legacy", 1, None, 0.001)
B = Observation("async", None, KeyError("k"), 0.002)


def test_observation_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        A.value = 2  # type: ignore[misc]
    assert not A.raised and B.raised


def test_match_reports_nothing() -> None:
    result = Result("d", "op", "shadow", A, A, MATCH)
    assert (result.kind, result.diff_paths, result.mismatched, result.ignored) == (
        None,
        (),
        False,
        False,
    )


def test_first_mismatch_names_the_result() -> None:
    comparison = Comparison(
        (Mismatch(RESULT_MISMATCH, ("root['a']",)), Mismatch(EFFECT_MISMATCH, ("effects",)))
    )
    result = Result("d", "op", "live", A, B, comparison)
    assert (result.kind, result.diff_paths, result.mismatched) == (
        RESULT_MISMATCH,
        ("root['a']",),
        True,
    )


def test_ignored_comparison_is_not_a_mismatch() -> None:
    result = Result("d", "op", "shadow", A, A, Comparison((), ignored=True))
    assert result.ignored and not result.mismatched and result.kind is None
