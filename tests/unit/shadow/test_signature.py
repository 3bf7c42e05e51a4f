"""Signatures group the same divergence, whichever list item it happened on."""

from __future__ import annotations

import pytest

from shadow.signature import MAX_PATHS, normalise_path, normalise_paths, signature

pytestmark = pytest.mark.unit


class TestNormalisePath:
    """List indices become [*]; string keys stay."""

    def test_indices_are_stripped(self) -> None:
        assert normalise_path("root['inventory'][3]['qty']") == "root['inventory'][*]['qty']"

    def test_string_keys_stay(self) -> None:
        assert normalise_path("root['stats']['fear']") == "root['stats']['fear']"

    def test_numeric_string_keys_stay(self) -> None:
        assert normalise_path("root['3']") == "root['3']"

    def test_paths_are_deduplicated_and_sorted(self) -> None:
        paths = ["root['b'][1]", "root['a']", "root['b'][0]"]
        assert normalise_paths(paths) == ("root['a']", "root['b'][*]")

    def test_paths_are_capped(self) -> None:
        assert len(normalise_paths(f"root['k{i}']" for i in range(200))) == MAX_PATHS


class TestSignature:
    """Same domain, operation, kind and normalised paths, same signature; else different."""

    def test_index_does_not_change_signature(self) -> None:
        a = signature("players", "get", "result_mismatch", ["root['inv'][3]['q']"])
        b = signature("players", "get", "result_mismatch", ["root['inv'][7]['q']"])
        assert a == b

    def test_path_order_does_not_change_signature(self) -> None:
        a = signature("p", "get", "k", ["root['a']", "root['b']"])
        assert a == signature("p", "get", "k", ["root['b']", "root['a']"])

    @pytest.mark.parametrize(
        "other",
        [
            ("items", "get", "result_mismatch", ["root['a']"]),
            ("players", "list", "result_mismatch", ["root['a']"]),
            ("players", "get", "effect_mismatch", ["root['a']"]),
            ("players", "get", "result_mismatch", ["root['b']"]),
            ("players", "get", "result_mismatch", ["root['a']", "root['b']"]),
        ],
    )
    def test_each_part_counts(self, other: tuple[str, str, str, list[str]]) -> None:
        assert signature("players", "get", "result_mismatch", ["root['a']"]) != signature(*other)

    def test_signature_is_stable_hex(self) -> None:
        sig = signature("players", "get", "result_mismatch", ["root['a']"])
        assert len(sig) == 32 and int(sig, 16) >= 0
        assert sig == signature("players", "get", "result_mismatch", ["root['a']"])
