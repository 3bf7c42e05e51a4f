"""A hand-written flag provider with overrides, and helpers that make Results."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from flags.model import FlagChange, FlagState, Mode, Override
from flags.transitions import RANK
from shadow.observation import Comparison, Mismatch, Observation, Result


class FakeFlags:
    """In-memory flags with the override layer's calls (``FlagsWithOverrides``); records writes."""

    name = "fake"
    available = True
    audit_in_database = True

    def __init__(self, modes: Mapping[str, Mode]) -> None:
        self.states = {d: FlagState(d, m, percent=40) for d, m in modes.items()}
        self.caps: dict[str, Mode] = {}
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self.inner = self

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        return self.states[domain].mode

    async def effective_mode(self, domain: str) -> Mode:
        mode, cap = self.states[domain].mode, self.caps.get(domain)
        return cap if cap is not None and RANK[cap] < RANK[mode] else mode

    async def override(self, domain: str, mode: Mode, **options: Any) -> None:
        self.caps[domain] = mode
        self.writes.append(("override", mode, options))

    async def note(self, domain: str, **options: Any) -> None:
        self.writes.append(("note", await self.effective_mode(domain), options))

    async def set(self, domain: str, mode: Mode, **options: Any) -> FlagState:
        self.states[domain] = dataclasses.replace(self.states[domain], mode=mode)
        self.writes.append(("set", mode, options))
        return self.states[domain]

    async def get(self, domain: str) -> FlagState:
        return self.states[domain]

    async def list(self) -> list[FlagState]:
        return list(self.states.values())

    async def history(self, domain: str | None = None, limit: int = 100) -> list[FlagChange]:
        return []

    async def start(self) -> None:
        """Nothing to load."""

    async def close(self) -> None:
        """Nothing to release."""

    def overrides(self) -> dict[str, Override]:
        return {d: Override(d, mode, "fake", "fake") for d, mode in self.caps.items()}

    def override_for(self, domain: str) -> Override | None:
        return self.overrides().get(domain)


def result(
    domain: str,
    mode: str,
    *,
    diverged: bool = False,
    primary_error: BaseException | None = None,
    shadow_error: BaseException | None = None,
    primary_s: float = 0.001,
    shadow_s: float = 0.001,
) -> Result:
    """A Result as the engine hands it to listeners; live: primary async, shadow legacy."""
    primary_path, shadow_path = ("async", "legacy") if mode == "live" else ("legacy", "async")
    mismatches: Sequence[Mismatch] = (
        (Mismatch("result_mismatch", ("root['hp']",)),) if diverged else ()
    )
    return Result(
        domain,
        "get_player_by_id",
        mode,
        Observation(primary_path, None, primary_error, primary_s),
        Observation(shadow_path, None, shadow_error, shadow_s),
        Comparison(tuple(mismatches)),
    )
