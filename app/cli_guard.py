"""``dualpath guard replay``: re-judge the guard's record with the current or given thresholds.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from app.cli_service import reflow
from app.settings import Settings

if TYPE_CHECKING:
    from app.guard_replay import Replayed
    from app.guard_rules import Thresholds

__all__ = ["guard_app", "register"]

guard_app = typer.Typer(help="The guard: replay its record.", no_args_is_help=True)

_THRESHOLD_OPTIONS = {
    "max_latency_ratio": "--max-latency-ratio",
    "max_tail_ratio": "--max-tail-ratio",
    "max_error_rate": "--max-error-rate",
    "max_divergence_rate": "--max-divergence-rate",
    "alpha": "--alpha",
    "failure_limit": "--failure-limit",
    "max_loop_lag_ms": "--max-loop-lag-ms",
}


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def replay_command(
    domain: str = typer.Option(..., "--domain", help="The domain, e.g. health."),
    since: str = typer.Option("1h", "--since", help="How far back: 90s, 15m, 1h, 2d."),
    max_latency_ratio: float | None = typer.Option(None, "--max-latency-ratio"),
    max_tail_ratio: float | None = typer.Option(None, "--max-tail-ratio"),
    max_error_rate: float | None = typer.Option(None, "--max-error-rate"),
    max_divergence_rate: float | None = typer.Option(None, "--max-divergence-rate"),
    alpha: float | None = typer.Option(None, "--alpha", help="False-alarm chance per look."),
    failure_limit: int | None = typer.Option(None, "--failure-limit"),
    max_loop_lag_ms: float | None = typer.Option(
        None, "--max-loop-lag-ms", help="Judge latency only on pairs timed on a loop this quiet."
    ),
    every_look: bool = typer.Option(False, "--all", help="Print every look, not only failing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Re-judge the guard's recorded calls of one domain and print every decision.

    Uses the thresholds in force (DUALPATH_GUARD_*, with the domain's overrides) unless an
    option gives another. Prints each look that failed or would roll back, with its time, its
    rule and statistic, beside what the live guard decided then.

    Example: dualpath guard replay --domain health --since 1h --max-latency-ratio 3
    """
    from app.guard_replay import parse_since

    given = {
        "max_latency_ratio": max_latency_ratio, "max_tail_ratio": max_tail_ratio,
        "max_error_rate": max_error_rate,
        "max_divergence_rate": max_divergence_rate, "alpha": alpha,
        "failure_limit": failure_limit, "max_loop_lag_ms": max_loop_lag_ms,
    }  # fmt: skip
    try:
        seconds = parse_since(since)
        settings = Settings()
        limits = _limits(settings, domain, {k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        fail(str(exc))
    rows = _run(settings, domain, seconds, limits)
    _print(rows, every_look=every_look, as_json=as_json)


def _limits(settings: Settings, domain: str, given: dict[str, float]) -> Thresholds:
    from app.bootstrap import declared_domains
    from app.guard import parse_threshold_overrides, thresholds_from

    DOMAINS = declared_domains(settings)
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    default, per_domain = thresholds_from(settings, DOMAINS)
    if given:
        names = {f: _THRESHOLD_OPTIONS[f] for f in given}
        try:
            parse_threshold_overrides(json.dumps({domain: given}))
        except ValueError as exc:
            raise ValueError(f"{', '.join(names.values())}: {exc}") from None
    return per_domain.get(domain, default).with_overrides(given)


def _run(settings: Settings, domain: str, seconds: float, limits: Thresholds) -> list[Replayed]:
    import asyncpg

    from app.database import resolve_database_url
    from app.guard_record import load
    from app.guard_replay import replay

    url = resolve_database_url(settings)
    until = time.time()
    try:
        recorded = asyncio.run(load(url, domain, until - seconds, until, limits.window_s))
    except (OSError, asyncpg.PostgresError) as exc:
        fail(f"cannot read the guard's record: {exc}", code=1)
    return replay(recorded, domain, limits)


def _print(rows: list[Replayed], *, every_look: bool, as_json: bool) -> None:
    if as_json:  # one document, for jq
        typer.echo(json.dumps(_document(rows, every_look), indent=2))
        return
    if not rows:
        typer.echo("no looks recorded for this domain in that time")
        return
    acted = 0
    for row in rows:
        decision = row.decision
        acted += row.acted
        if not (every_look or row.acted or decision.failed):
            continue
        typer.echo(_line(row))
    live = sum(r.live.outcome in ("rollback", "dry_run") for r in rows)
    first, last = _when(rows[0].live.at), _when(rows[-1].live.at)
    typer.echo(
        f"{len(rows)} looks from {first} to {last}: replay rolls back {acted} time(s); "
        f"the live guard rolled back (or dry-ran) {live} time(s)"
    )


def _document(rows: list[Any], every_look: bool) -> dict[str, Any]:
    """What ``--json`` prints: the looks shown, and the counts of the summary line."""
    shown = [r for r in rows if every_look or r.acted or r.decision.failed]
    return {
        "looks": len(rows),
        "first": _when(rows[0].live.at) if rows else None,
        "last": _when(rows[-1].live.at) if rows else None,
        "replay_rollbacks": sum(r.acted for r in rows),
        "live_rollbacks": sum(r.live.outcome in ("rollback", "dry_run") for r in rows),
        "shown": [_data(r) for r in shown],
    }


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def _line(row: Replayed) -> str:
    decision = row.decision
    verdict = decision.rollback or (decision.failed[0] if decision.failed else None)
    action = "ROLLBACK" if row.acted else ("fail" if decision.failed else "hold")
    why = verdict.explain() if verdict is not None else "no rule failed"
    return (
        f"{_when(decision.at)} {decision.mode} {action} (streak {decision.streak}): {why} "
        f"[live: {row.live.outcome}]"
    )


def _data(row: Replayed) -> dict[str, Any]:
    decision = row.decision
    return {
        "at": _when(decision.at),
        "source": row.source,
        "mode": decision.mode,
        "rollback": row.acted,
        "streak": decision.streak,
        "figures": decision.figures(),
        "live": row.live.outcome,
    }


guard_app.command("replay", help=reflow(replay_command.__doc__ or ""))(replay_command)


def register(app: typer.Typer) -> None:
    """Add ``guard`` to the ``dualpath`` command line."""
    app.add_typer(guard_app, name="guard")
