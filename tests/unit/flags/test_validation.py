"""A change is checked in full before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from flags.model import FlagError, FlagState
from flags.validation import check_change

pytestmark = pytest.mark.unit

DOMAINS = ("player", "room")
GOOD: dict[str, Any] = {"percent": 50, "services": ["api"], "reason": "ramp", "actor": "ops"}


class TestCheckChange:
    """Valid changes become states; every invalid field raises ``FlagError``."""

    def test_valid_change(self) -> None:
        state = check_change(DOMAINS, "player", "shadow", **GOOD)
        assert state == FlagState(
            "player", "shadow", 50, frozenset({"api"}), reason="ramp", updated_by="ops"
        )

    @pytest.mark.parametrize(
        ("domain", "mode", "override", "message"),
        [
            ("ghost", "live", {}, "unknown domain"),
            ("player", "fast", {}, "unknown mode"),
            ("player", "live", {"percent": 101}, "percent"),
            ("player", "live", {"percent": -1}, "percent"),
            ("player", "live", {"percent": 2.5}, "percent"),
            ("player", "live", {"percent": "50"}, "percent"),
            ("player", "live", {"percent": True}, "percent"),
            ("player", "live", {"services": "api"}, "services"),
            ("player", "live", {"services": []}, "services"),
            ("player", "live", {"services": [""]}, "service"),
            ("player", "live", {"reason": ""}, "reason"),
            ("player", "live", {"reason": "  "}, "reason"),
            ("player", "live", {"actor": ""}, "actor"),
            ("player", "live", {"actor": None}, "actor"),
        ],
    )
    def test_invalid_change(
        self, domain: str, mode: str, override: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(FlagError, match=message):
            check_change(DOMAINS, domain, mode, **{**GOOD, **override})
