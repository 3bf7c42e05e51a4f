"""``dualpath serve``, ``dualpath traffic`` and ``dualpath status``.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from app.settings import Settings

__all__ = ["register"]

STATUS_COLUMNS = (
    *("domain", "mode", "in mode", "calls", "div.", "err l/a", "open", "health"),
    "readiness",
)

SERVE_HELP = """Serve the game API, the ops API and the dashboard over HTTP.

The game API (/api/players, /api/rooms, ...) goes through the flag-routed router; the ops
API changes flags and divergence groups; /dashboard is the on-call view; /healthz, /metrics
and /docs (OpenAPI) are there too.

Ops writes need 'Authorization: Bearer <token>'. Set DUALPATH_OPS_TOKEN (recorded in the
audit log as DUALPATH_OPS_TOKEN_NAME, default "ops") and/or DUALPATH_OPS_TOKENS as a list
of name:secret pairs, e.g. DUALPATH_OPS_TOKENS="alice:s3cret,bob:0th3r". With no token
configured every ops write is refused.

Example: DUALPATH_OPS_TOKEN=s3cret dualpath serve --host 127.0.0.1 --port 8000
"""


def settings_or_exit() -> Settings:
    """The settings, or a clear error and exit code 2."""
    try:
        return Settings()
    except ValueError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc


def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on [DUALPATH_HOST]."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port [DUALPATH_PORT]."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Serve the game API, the ops API and the dashboard (see --help)."""
    import uvicorn

    from app.service import create_app
    from app.service.logs import configure_json_logging

    settings = settings_or_exit()
    configure_json_logging(log_level)
    app = create_app(settings=settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=log_level,
        access_log=False,
    )


def traffic(
    seconds: float = typer.Option(10.0, "--seconds", min=0.1, help="How long to run."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=500, help="Workers."),
    service: str = typer.Option("traffic", "--service", help="Service name in flag context."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the workload."),
) -> None:
    """Drive a mixed game workload through the router and summarise what happened.

    Lookups, moves, combat damage and healing, experience, stat changes, items in and out of
    containers, profession reads: weighted like a busy evening, for --seconds, with
    --concurrency workers, in this process over the configured database (seed it first).
    Ends with operations, refusals, errors and the divergences recorded meanwhile.

    Example: dualpath traffic --seconds 30 --concurrency 16 --service api
    """
    settings = settings_or_exit()
    asyncio.run(_traffic(settings, seconds, concurrency, service, seed))


async def _traffic(
    settings: Settings, seconds: float, concurrency: int, service: str, seed: int
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from app.bootstrap import open_system
    from app.service.traffic import run_traffic

    async with open_system(settings) as system:
        before = await _divergence_total(system)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[ops]} ops"),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as progress:
            task = progress.add_task("traffic", total=seconds, ops=0)
            counter = {"ops": 0}

            def tick() -> None:
                counter["ops"] += 1

            async def advance() -> None:
                for _ in range(int(seconds * 10)):
                    await asyncio.sleep(0.1)
                    progress.update(task, advance=0.1, ops=counter["ops"])

            ticker = asyncio.create_task(advance())
            report = await run_traffic(
                system.router.for_service(service),
                seconds=seconds,
                concurrency=concurrency,
                seed=seed,
                tick=tick,
            )
            ticker.cancel()
        after = await _divergence_total(system)
        if before is not None and after is not None:
            report.divergences = after - before
    _print_report(report)


async def _divergence_total(system: Any) -> int | None:
    """The sum of all divergence group counts, after flushing; None without a store."""
    store = getattr(system, "divergences", None)
    if store is None:
        return None
    from app.service.divergence_access import fetch_groups

    await store.flush()
    return sum(g.count for g in await fetch_groups(store))


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    rate = report.total / max(report.seconds, 1e-9)
    table = Table(title="traffic by action")
    table.add_column("action")
    table.add_column("done", justify="right")
    for name, count in report.operations.most_common():
        table.add_row(name, str(count))
    console = Console()
    console.print(table)
    console.print(f"operations: {report.total} in {report.seconds:.1f} s ({rate:.0f}/s)")
    refused = sum(report.refused.values())
    console.print(f"refused by game rules: {refused}  errors: {report.error_count}")
    for name, count in report.errors.most_common(10):
        console.print(f"  error {name}: {count}")
    divergences = "n/a (no divergence store)" if report.divergences is None else report.divergences
    console.print(f"divergences recorded: {divergences}")


def status() -> None:
    """Print each domain's mode and health in one table.

    For every domain: its mode, percent and services, how long it has been in that mode and
    who set it, and over the last 15 minutes the calls, divergence rate, errors per path and
    open divergence groups, with a one-word verdict (ok, diverging, erroring, idle); then its
    readiness for the next rollout step, e.g. "ready for live" or "blocked: 2 open divergence
    groups" (the rules are in docs/rollout.md).

    Example: dualpath status
    """
    settings = settings_or_exit()
    asyncio.run(_status(settings))


async def _status(settings: Settings) -> None:
    from rich.console import Console
    from rich.table import Table

    from app.bootstrap import open_system
    from app.service.divergence_access import fetch_groups
    from app.service.overview import domain_cards

    async with open_system(settings) as system:
        now = datetime.now(UTC)
        store = getattr(system, "divergences", None)
        rollup = await store.rollup(since=now - timedelta(minutes=15)) if store else []
        groups = await fetch_groups(store, status="open") if store else []
        cards = domain_cards(await system.flags.list(), rollup, groups, now)
        readiness = await _readiness(system, settings, now)
    table = Table(title="dualpath status: shadowed calls of the last 15 minutes")
    for column in STATUS_COLUMNS:
        table.add_column(column, no_wrap=True)
    for card in cards:
        table.add_row(*_status_row(card), readiness.get(card.domain, "-"))
    Console().print(table)


async def _readiness(system: Any, settings: Settings, now: datetime) -> dict[str, str]:
    """Each domain's readiness verdict (docs/rollout.md), with its override if any."""
    from app.readiness import assess_system, rules_from

    verdicts = {}
    for found in await assess_system(system, rules_from(settings), now):
        held = f" (held at {found.mode} by {found.overridden_by})" if found.overridden_by else ""
        verdicts[found.domain] = found.verdict + held
    return verdicts


def _status_row(card: Any) -> list[str]:
    mode = card.mode if card.percent == 100 else f"{card.mode} {card.percent}%"
    if card.services:
        mode += f" [{','.join(card.services)}]"
    rate = "-" if card.divergence_rate is None else f"{card.divergence_rate:.2%}"
    errors = f"{card.errors['legacy']}/{card.errors['async']}"
    return [
        card.domain,
        mode,
        card.in_mode_for,
        str(card.calls),
        rate,
        errors,
        str(card.open_groups),
        _verdict(card),
    ]


def _verdict(card: Any) -> str:
    if card.errors["legacy"] or card.errors["async"]:
        return "erroring"
    if card.divergences or card.open_groups:
        return "diverging"
    return "ok" if card.calls else "idle"


def reflow(text: str) -> str:
    """Help text with each paragraph on one line, so the terminal wraps it, not the source."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``traffic`` and ``status`` to the ``dualpath`` command line."""
    app.command("serve", help=reflow(SERVE_HELP))(serve)
    app.command("traffic", help=reflow(traffic.__doc__ or ""))(traffic)
    app.command("status", help=reflow(status.__doc__ or ""))(status)
