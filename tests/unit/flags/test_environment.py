"""``DUALPATH_FLAGS`` is parsed once, strictly, and never changes."""

from __future__ import annotations

import pytest

from flags.environment import EnvironmentFlags, parse_flags
from flags.model import FlagError, FlagProvider, FlagState

pytestmark = pytest.mark.unit

DOMAINS = ("player", "room", "health")


class TestParsing:
    """Good strings give states; bad entries fail at construction, naming the entry."""

    def test_mode_and_percent(self) -> None:
        states = parse_flags("player=async, health=shadow:25", DOMAINS)
        assert (states["player"].mode, states["player"].percent) == ("async", 100)
        assert (states["health"].mode, states["health"].percent) == ("shadow", 25)
        assert "room" not in states

    @pytest.mark.parametrize("spec", ["", "  ", ",", "player=live,"])
    def test_empty_entries_are_ignored(self, spec: str) -> None:
        assert set(parse_flags(spec, DOMAINS)) <= {"player"}

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("player", "not domain=mode"),
            ("player=", "not domain=mode"),
            ("=live", "not domain=mode"),
            ("ghost=live", "unknown domain 'ghost'"),
            ("player=fast", "unknown mode 'fast'"),
            ("player=live:101", "percent"),
            ("player=live:-1", "percent"),
            ("player=live:2.5", "percent"),
            ("player=live:", "percent"),
            ("player=live,player=shadow", "twice"),
        ],
    )
    def test_bad_entries_raise_flag_error(self, spec: str, message: str) -> None:
        with pytest.raises(FlagError, match=message):
            EnvironmentFlags(spec, DOMAINS)

    def test_a_bare_string_of_domains_is_rejected(self) -> None:
        with pytest.raises(FlagError, match="sequence"):
            EnvironmentFlags("", "player")


class TestProvider:
    """The provider answers from the parsed string and refuses changes."""

    async def test_is_a_flag_provider(self) -> None:
        assert isinstance(EnvironmentFlags("", DOMAINS), FlagProvider)

    async def test_modes_follow_the_string(self) -> None:
        flags = EnvironmentFlags("player=async", DOMAINS)
        await flags.start()
        assert flags.mode_for("player", "k", "api") == "async"
        assert flags.mode_for("room", "k", "api") == "legacy"
        assert flags.mode_for("elsewhere", "k", "api") == "legacy"

    async def test_get_and_list(self) -> None:
        flags = EnvironmentFlags("room=live:10", DOMAINS)
        assert (await flags.get("room")).percent == 10
        assert [s.domain for s in await flags.list()] == list(DOMAINS)
        assert await flags.get("health") == FlagState("health")
        with pytest.raises(FlagError, match="unknown domain"):
            await flags.get("ghost")

    async def test_set_is_refused_and_changes_nothing(self) -> None:
        flags = EnvironmentFlags("player=async", DOMAINS)
        with pytest.raises(FlagError, match="read-only"):
            await flags.set("player", "legacy", reason="r", actor="a")
        assert flags.mode_for("player", "k", None) == "async"
        assert await flags.history() == []
