"""A/A soak of the guard: both paths correct, the same random spikes on both, machine saturated.

``soak(url, seconds)`` opens a whole system on ``url`` with the guard on and recording, puts
``player``, ``room``, ``profession``, ``health`` and ``experience`` in ``live`` and
``container`` and ``item`` in ``shadow``, and drives the mixed game workload through the router
while 2% of the calls on either path sleep 10-40 ms (``bench.guard_injection``). A second
process, ``dualpath traffic``, saturates the machine with its own system and guard, on a
database of its own on the same server: on the same rows its writes would race the measured
process's comparisons, which no process can tell from a divergence. The guard must roll
nothing back: every entry by actor ``guard`` in the flag history during the run is a false
rollback, or a false dry-run decision where a rule is advisory. The figures include the
event-loop lag the guard charged the judged calls with, and the share it set aside.

``python -m bench.guard_soak [seconds]`` runs it (default 600 s) on a fresh database, writes
the figures to ``docs/benchmarks.md`` and the recorded latencies of the compared calls to
``bench/data/guard_latencies.json`` for ``bench.guard_simulation``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.guard_injection import spikes_on_both_paths

__all__ = ["LIVE", "SHADOW", "SoakResult", "soak"]

LIVE = ("player", "room", "profession", "health", "experience")
SHADOW = ("container", "item")
SAMPLES = Path(__file__).resolve().parent / "data" / "guard_latencies.json"
DUALPATH = Path(sys.executable).with_name("dualpath")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SoakResult:
    """What the soak saw: calls, the guard's looks by outcome, and its false rollbacks."""

    seconds: float
    calls: int
    errors: int
    judged_calls: int
    looks: dict[str, int]
    max_streak: int
    rollbacks: list[str]
    latency: dict[str, str] = field(default_factory=dict)  # last latency verdict per domain
    load_process_calls: int = 0
    dry_runs: list[str] = field(default_factory=list)
    loop_lag: dict[str, float] = field(default_factory=dict)  # quantiles, ms; share lagged


async def soak(
    url: str, load_url: str, seconds: float, *, concurrency: int = 24, load: int = 16
) -> SoakResult:
    """Run the A/A soak for ``seconds``, the load process on ``load_url``; see the docstring."""
    from app.bootstrap import open_system
    from app.service.traffic import run_traffic
    from app.settings import Settings

    settings = Settings(DATABASE_URL=url, flag_provider="postgres")
    async with open_system(settings) as system:
        await _modes(system)
        started = time.time()
        child = _load_process(load_url, seconds, load)
        with spikes_on_both_paths(system):
            report = await run_traffic(system.router, seconds=seconds, concurrency=concurrency)
        out, _ = await asyncio.to_thread(child.communicate, timeout=seconds + 120)
        latency = _latency(system)
        history = await system.flags.history(limit=200)
        entries = [c for c in history if c.actor == "guard" and c.changed_at.timestamp() >= started]
        most_lag_ms = system.guard.thresholds(LIVE[0]).max_loop_lag_ms
    looks, streak, judged = await _record(url, started)
    rolled = [c for c in entries if not (c.extra or {}).get("dry_run")]
    dry = [c for c in entries if (c.extra or {}).get("dry_run")]
    return SoakResult(
        seconds=report.seconds,
        calls=sum(report.operations.values()),
        errors=sum(report.errors.values()),
        judged_calls=judged,
        looks=looks,
        max_streak=streak,
        rollbacks=[f"{c.domain} {c.previous_mode}->{c.mode}: {c.reason}" for c in rolled],
        latency=latency,
        load_process_calls=_calls_of(out),
        dry_runs=[f"{c.domain} {c.mode}: {c.reason}" for c in dry],
        loop_lag=await _loop_lag(url, started, most_lag_ms),
    )


def _latency(system: Any) -> dict[str, str]:
    """The last latency verdict over the long span, per domain the guard looked at."""
    return {
        domain: verdict.explain()
        for domain, decision in system.guard.last.items()
        for verdict in decision.verdicts
        if verdict.rule == "latency" and verdict.extra["span_s"] == system.guard.thresholds(
            domain).window_s
    }  # fmt: skip


async def _modes(system: Any) -> None:
    for domain in LIVE + SHADOW:
        for step in ("shadow", "live") if domain in LIVE else ("shadow",):
            if (await system.flags.get(domain)).mode != step:
                await system.flags.set(domain, step, reason="A/A soak", actor="bench")


def _load_process(url: str, seconds: float, concurrency: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [str(DUALPATH), "traffic", "--seconds", str(seconds), "--concurrency", str(concurrency),
         "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _calls_of(out: bytes) -> int:
    try:
        return int(sum(json.loads(out.decode().strip().splitlines()[-1])["operations"].values()))
    except (ValueError, KeyError, IndexError):
        return 0


async def _record(url: str, since: float) -> tuple[dict[str, int], int, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT outcome, count(*) AS n FROM guard_looks WHERE at >= $1 GROUP BY outcome", since
        )
        streak = await conn.fetchval(
            "SELECT coalesce(max(streak), 0) FROM guard_looks WHERE at >= $1", since
        )
        judged = await conn.fetchval(
            "SELECT coalesce(sum(cardinality(at)), 0) FROM guard_calls WHERE first_at >= $1", since
        )
    finally:
        await conn.close()
    return {r["outcome"]: r["n"] for r in rows}, int(streak), int(judged)


async def _loop_lag(url: str, since: float, most_ms: float) -> dict[str, float]:
    """The loop lag the guard charged the compared calls with: quantiles and the share set aside."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY lag) AS q, "
            "avg((lag * 1000 > $2)::int) AS lagged, count(*) AS n "
            "FROM guard_calls, unnest(loop_lag_s) AS lag "
            "WHERE first_at >= $1 AND mode <> 'async'",
            since, most_ms,
        )  # fmt: skip
    finally:
        await conn.close()
    if not row or not row["n"]:
        return {}
    p50, p90, p99 = (q * 1000 for q in row["q"])
    return {"p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "share_lagged": float(row["lagged"]),
            "threshold_ms": most_ms, "calls": int(row["n"])}  # fmt: skip


async def save_latencies(url: str, since: float, limit: int = 50_000) -> int:
    """The durations of both paths' compared, successful calls, for the simulation."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT legacy_s, async_s, bits FROM guard_calls "
            "WHERE first_at >= $1 AND mode = 'live'",
            since,
        )
    finally:
        await conn.close()
    legacy, new = [], []
    for row in rows:
        for l_s, a_s, bits in zip(row["legacy_s"], row["async_s"], row["bits"], strict=True):
            if bits & 7 == 4:  # compared, neither path failed
                legacy.append(l_s)
                new.append(a_s)
    step = max(1, len(legacy) // limit)
    SAMPLES.parent.mkdir(exist_ok=True)
    data = {"legacy_s": legacy[::step], "async_s": new[::step], "source": "bench.guard_soak"}
    SAMPLES.write_text(json.dumps(data))
    return len(data["legacy_s"])


def main(argv: list[str]) -> int:
    """Run the soak on a fresh database and write its figures."""
    from bench.__main__ import _admin, _fresh_database
    from bench.report import write_section

    seconds = float(argv[0]) if argv else 600.0
    url, load_url = _fresh_database(), _fresh_database()
    try:
        started = time.time()
        result = asyncio.run(soak(url, load_url, seconds))
        kept = asyncio.run(save_latencies(url, started))
    finally:
        for made in (url, load_url):
            _admin(f'DROP DATABASE IF EXISTS "{made.rsplit("/", 1)[1]}" WITH (FORCE)')
    print(json.dumps(asdict(result), indent=2))
    write_section("guard A/A soak", _markdown(result, kept))
    return 0 if not (result.rollbacks or result.dry_runs) else 1


def _markdown(result: SoakResult, kept: int) -> str:
    looks = ", ".join(f"{k} {v:,}" for k, v in sorted(result.looks.items()))
    lines = [
        f"`python -m bench.guard_soak {result.seconds:.0f}`: {result.seconds:.0f} s, both paths "
        "correct, 2% of calls on either path sleep 10-40 ms, 24 workers in the measured process "
        "and a second `dualpath traffic --concurrency 16` process (on a database of its own on "
        "the same server) saturating both cores. "
        f"`{', '.join(LIVE)}` in live, `{', '.join(SHADOW)}` in shadow.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| calls (measured process) | {result.calls:,} |",
        f"| calls (load process) | {result.load_process_calls:,} |",
        f"| calls judged by the guard | {result.judged_calls:,} |",
        f"| looks by outcome | {looks} |",
        f"| longest failing streak | {result.max_streak} |",
        f"| false rollbacks | {len(result.rollbacks)} |",
        f"| dry-run decisions (would have rolled back) | {len(result.dry_runs)} |",
        _lag_row(result.loop_lag),
        f"| latency samples kept for the simulation | {kept:,} |",
    ]
    lines += ["", "Last latency verdict per domain (60 s span):", ""]
    lines += [f"- `{d}`: {text}" for d, text in sorted(result.latency.items())]
    if result.rollbacks:
        lines += ["", "Rollbacks:", ""] + [f"- {r}" for r in result.rollbacks]
    if result.dry_runs:
        lines += ["", "Dry-run decisions:", ""] + [f"- {r}" for r in result.dry_runs]
    return "\n".join(lines)


def _lag_row(lag: dict[str, float]) -> str:
    if not lag:
        return "| event-loop lag of the judged calls | not recorded |"
    return (
        f"| event-loop lag of the judged calls | p50 {lag['p50_ms']:.3g} ms, p90 "
        f"{lag['p90_ms']:.3g} ms, p99 {lag['p99_ms']:.3g} ms; {lag['share_lagged']:.1%} of "
        f"{lag['calls']:,.0f} above {lag['threshold_ms']:g} ms, set aside from latency |"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
