"""A PostgreSQL restart under shadow and live traffic, and what its output may hold.

Shared by the library run (``outage_host``, ``async with open_system()`` in a program that
never configured logging) and the ``dualpath serve`` runs of ``test_quiet_outages``:

- the traffic: workers that damage their own player by 1 HP again and again, through the
  async router and through the sync facade, with ``player`` and ``room`` in ``shadow`` and
  ``health`` in ``live``, tallying acknowledged and failed writes per player;
- the checks on everything the program wrote: no password, no ops token, no traceback, no
  error event, and at most two events per component for the one outage (one when it started,
  one when it ended);
- the check that nothing was lost: each player's HP fell by at least the acknowledged damage
  and at most the acknowledged plus the failed (a failed write may or may not have landed).

``DUALPATH_TEST_DUMP=<file>`` appends each program's whole output to ``<file>``, to read
what a run logged.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_HP = 500_000_000
MAX_HP = 1_000_000_000
WARMUP_S = 1.5
DOWN_FOR_S = 3.0
RECOVER_WITHIN_S = 20.0
# After every worker wrote again: long enough for the divergence store's retry (backoff up
# to 5 s) and the 1 s that calls must keep working before an outage is logged as over.
AFTER_S = 8.0
MODES = {"player": "shadow", "room": "shadow", "health": "live"}

Call = Callable[[], Awaitable[Any]]


@dataclass
class Tally:
    """Acknowledged and failed damage writes per player, and when each worker last wrote."""

    acknowledged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    last_ok: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"acknowledged": dict(self.acknowledged), "failed": dict(self.failed)}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Tally:
        return cls(Counter(data["acknowledged"]), Counter(data["failed"]))


async def write_loop(name: str, damage: Call, tally: Tally, stop: asyncio.Event) -> None:
    """Damage one player by 1 until ``stop``; any failure counts as a write that may have landed."""
    while not stop.is_set():
        try:
            async with asyncio.timeout(15):
                await damage()
        except Exception:
            tally.failed[name] += 1
            await asyncio.sleep(0.05)
        else:
            tally.acknowledged[name] += 1
            tally.last_ok[name] = time.monotonic()


async def read_loop(read: Call, stop: asyncio.Event) -> None:
    """Shadowed reads until ``stop``; their failures are the outage's, not counted here."""
    while not stop.is_set():
        try:
            async with asyncio.timeout(15):
                await read()
        except Exception:
            await asyncio.sleep(0.05)


async def wait_until_written(tally: Tally, back: float) -> float:
    """Wait until every worker has written since ``back``; the seconds that took."""
    while any(tally.last_ok.get(name, 0.0) < back for name in tally.acknowledged):
        if time.monotonic() - back > RECOVER_WITHIN_S:
            late = [n for n in tally.acknowledged if tally.last_ok.get(n, 0.0) < back]
            raise AssertionError(f"no write since the restart from {late}")
        await asyncio.sleep(0.05)
    return time.monotonic() - back


async def wait_for(path: Path, timeout_s: float = 120.0) -> None:
    """Wait until ``path`` exists."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(path.exists):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never came")
        await asyncio.sleep(0.05)


# --- what the program wrote ------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CONSOLE = re.compile(
    # structlog's console timestamp: ISO 8601 in UTC (2026-12-01T21:55:35.803741Z) or local
    r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z? \[(?P<level>\w+)\s*\] "
    r"(?P<event>\S+)(?P<rest>.*)$"
)
_PROVIDER = re.compile(r"\bprovider=(\S+)")
_OUTAGE_SUFFIXES = ("_unavailable", "_recovered")


@dataclass(frozen=True)
class LogEvent:
    """One structlog event read back from a program's output."""

    event: str
    level: str
    provider: str | None = None

    @property
    def component(self) -> str:
        """The event without its outage suffix, and the flag provider it is about."""
        name = self.event
        for suffix in _OUTAGE_SUFFIXES:
            name = name.removesuffix(suffix)
        return f"{name}/{self.provider}" if self.provider else name


def events_in(output: str) -> list[LogEvent]:
    """The structlog events of ``output``, console lines or JSON lines."""
    found = []
    for raw in _ANSI.sub("", output).splitlines():
        line = raw.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and "event" in data:
                found.append(LogEvent(data["event"], data.get("level", ""), data.get("provider")))
            continue
        match = _CONSOLE.match(line)
        if match:
            provider = _PROVIDER.search(match["rest"])
            found.append(
                LogEvent(match["event"], match["level"], provider[1] if provider else None)
            )
    return found


def outage_events(events: list[LogEvent]) -> Counter[str]:
    """Per component: the outage events and every warning or error it logged."""
    counted: Counter[str] = Counter()
    for e in events:
        if e.event.endswith(_OUTAGE_SUFFIXES) or e.level in ("warning", "error", "critical"):
            counted[e.component] += 1
    return counted


def check_quiet(output: str, secrets: dict[str, str]) -> Counter[str]:
    """Assert what a restart may leave in a program's output; the events per component."""
    import os

    if os.environ.get("DUALPATH_TEST_DUMP"):
        with open(os.environ["DUALPATH_TEST_DUMP"], "a") as dump:
            dump.write(output + "\n=====\n")
    for what, secret in secrets.items():
        assert secret not in output, f"the {what} was written out"
    assert "Traceback" not in output, _around(output, "Traceback")
    events = events_in(output)
    errors = [e.event for e in events if e.level in ("error", "critical")]
    assert errors == [], errors
    counted = outage_events(events)
    assert counted, "nothing about the outage was logged"
    noisy = {component: n for component, n in counted.items() if n > 2}
    assert noisy == {}, f"more than two events for one outage: {noisy}"
    names = {e.event for e in events}
    for path in ("async_db.database", "legacy.database"):
        assert f"{path}_unavailable" in names, sorted(names)
    started = {e.component for e in events if e.event.endswith("_unavailable")}
    ended = {e.component for e in events if e.event.endswith("_recovered")}
    assert started <= ended, f"outages never logged as over: {started - ended}"
    return counted


def check_nothing_lost(start: dict[str, int], final: dict[str, int], tally: Tally) -> None:
    """Each player's HP fell by between the acknowledged and acknowledged + failed damage."""
    assert sum(tally.acknowledged.values()) > 0
    assert sum(tally.failed.values()) > 0, "the restart failed no write: was it a restart?"
    for name, acknowledged in tally.acknowledged.items():
        fell = start[name] - final[name]
        low, high = acknowledged, acknowledged + tally.failed[name]
        assert low <= fell <= high, (name, fell, low, high)


def _around(text: str, needle: str, width: int = 1500) -> str:
    at = text.find(needle)
    return text[max(0, at - 200) : at + width]
