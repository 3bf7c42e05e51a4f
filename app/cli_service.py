"""``dualpath serve``, ``dualpath traffic`` and ``dualpath status``.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from app.logs import configure_logging, log_choice
from app.settings import Settings
from observability import mask_secrets

if TYPE_CHECKING:
    from app.bootstrap import System
    from app.readiness import Readiness
    from app.service.overview import DomainCard
    from app.service.traffic import TrafficReport

__all__ = ["register"]

STATUS_COLUMNS = (
    *("domain", "mode", "services", "in mode", "calls", "div.", "err l/a", "open", "health"),
    *("compared", "not compared", "shadow health"),
    "readiness",
)
# What an 80-column terminal keeps: domain, mode and health whole, readiness wrapped.
STATUS_PRIORITY = (0, 0, 4, 5, 2, 1, 3, 3, 0, 1, 5, 4, 0)
STATUS_MIN_WIDTH = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30)

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


def logs_to_stderr() -> None:
    """Keep stdout for the answer (``--json`` is parsed by scripts); logs go to stderr."""
    configure_logging()


def settings_or_exit() -> Settings:
    """The settings, or a clear error and exit code 2."""
    try:
        return Settings()
    except ValueError as exc:
        typer.secho(f"error: {mask_secrets(str(exc))}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc


def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on [DUALPATH_HOST]."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port [DUALPATH_PORT]."),
    log_level: str = typer.Option(
        None, "--log-level", help="debug, info, warning, error [DUALPATH_LOG_LEVEL, info]."
    ),
    log_format: str = typer.Option(
        None,
        "--log-format",
        help="json (one object per line) or console (readable lines) [DUALPATH_LOG_FORMAT;"
        " console on a terminal, json otherwise].",
    ),
) -> None:
    """Serve the game API, the ops API and the dashboard (see --help)."""
    import uvicorn

    from app.service import create_app

    try:
        fmt, level = log_choice(log_format, log_level, sys.stderr)
    except ValueError as exc:
        fail(str(exc).replace("log format", "--log-format").replace("log level", "--log-level"))
    settings = settings_or_exit()
    configure_logging(fmt, level)
    config = uvicorn.Config(
        create_app(settings=settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=level,
        log_config=None,  # uvicorn's loggers go through dualpath's handler, to stderr
        access_log=False,
    )
    loop_factory = getattr(config, "get_loop_factory", lambda: None)()  # uvloop if installed
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve_until_stopped(uvicorn.Server(config)))


async def _serve_until_stopped(server: Any) -> None:
    """Serve until SIGTERM or SIGINT; the app's lifespan then closes the system in order."""
    stop_on_signals(server)
    await server.serve()


def stop_on_signals(server: Any) -> None:
    """SIGTERM and SIGINT ask ``server`` to exit; what it serves then closes in order.

    uvicorn handles both while it serves, then passes each on to the handler it found:
    this one, so that the signal never cancels the closing itself (asyncio's own SIGINT
    handler would) nor kills the process before it is done (SIGTERM's default).
    """
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, setattr, server, "should_exit", True)


def traffic(
    seconds: float = typer.Option(10.0, "--seconds", min=0.1, help="How long to run."),
    concurrency: int = typer.Option(
        8, "--concurrency", min=1, max=500, help="Workers: simulated players acting at once."
    ),
    service: str = typer.Option("traffic", "--service", help="Service name in flag context."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the workload."),
    tally: int = typer.Option(
        0, "--tally", min=0, max=100, help="Players set aside for an exact HP/XP tally."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary, no table."),
    warmup: float | None = typer.Option(
        None, "--warmup", min=0, help="Seconds before the memory baseline [min(15, seconds/4)]."
    ),
) -> None:
    """Drive a mixed game workload through the router and summarise what happened.

    Lookups, moves, combat damage and healing, experience, stat changes, items in and out of
    containers, profession reads: weighted like a busy evening, for --seconds, with
    --concurrency workers, in this process over the configured database (seed it first).
    Ends with operations, refusals, errors and the divergences recorded meanwhile.

    --tally N sets N players aside: their health is moved far from its clamps (saved through
    the router), only tally actions touch them, and each acknowledged damage, heal and XP
    gain is recorded with the HPChanged and XPGained events seen for them; deliberately bad
    amounts sent to them must be refused. --json prints one JSON object instead of the
    table: the counts, ops/s, p50/p99 action latency, divergences, the shadow engine's
    comparisons by domain, mode and path, the flags before and after, the resident memory
    series (sampled every second; growth after --warmup) and the tally.

    Example: dualpath traffic --seconds 30 --concurrency 16 --service api
    """
    if as_json:  # stdout carries the summary alone
        logs_to_stderr()
    settings = settings_or_exit()
    window = warmup if warmup is not None else min(15.0, seconds / 4)
    run = TrafficRun(seconds, concurrency, service, seed, tally, window)
    asyncio.run(_traffic(settings, run, as_json))


@dataclass(frozen=True)
class TrafficRun:
    """What ``dualpath traffic`` was asked to do."""

    seconds: float
    concurrency: int
    service: str
    seed: int
    tally: int
    warmup_s: float


async def _traffic(settings: Settings, run: TrafficRun, as_json: bool) -> None:
    from app.bootstrap import open_system
    from app.service.traffic_audit import ComparisonLog, MemorySeries, sample_memory

    async with open_system(settings) as system:
        before, noise_before = await _divergence_totals(system)
        comparisons = ComparisonLog()
        system.shadow.engine.add_listener(comparisons)
        skipped = Counter(_skipped(system))
        modes_before = _modes(system)
        series, stop = MemorySeries(run.warmup_s), asyncio.Event()
        sampler = asyncio.create_task(sample_memory(series, stop))
        try:
            report = await (_quiet(system, run) if as_json else _with_progress(system, run))
        finally:
            stop.set()
            await sampler
        after, noise_after = await _divergence_totals(system)
        report.divergences = after - before
        extra = {
            "noise_divergences": noise_after - noise_before,
            "concurrency": run.concurrency,
            "comparisons": comparisons.rows(),
            "shadow_skipped": dict(Counter(_skipped(system)) - skipped),
            "modes_before": modes_before,
            "modes_after": _modes(system),
            "memory": series.as_dict(),
        }
    if as_json:
        print(json.dumps({**report.as_dict(), **extra}, default=str))
    else:
        _print_report(report)


async def _quiet(system: System, run: TrafficRun) -> TrafficReport:
    from app.service.traffic import run_traffic

    return await run_traffic(
        system.router.for_service(run.service),
        seconds=run.seconds,
        concurrency=run.concurrency,
        seed=run.seed,
        tally=run.tally,
        events=system.events,
    )


async def _with_progress(system: System, run: TrafficRun) -> TrafficReport:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from app.service.traffic import run_traffic

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[ops]} ops"),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("traffic", total=run.seconds, ops=0)
        counter = {"ops": 0}

        def tick() -> None:
            counter["ops"] += 1

        async def advance() -> None:
            for _ in range(int(run.seconds * 10)):
                await asyncio.sleep(0.1)
                progress.update(task, advance=0.1, ops=counter["ops"])

        ticker = asyncio.create_task(advance())
        try:
            return await run_traffic(
                system.router.for_service(run.service),
                seconds=run.seconds,
                concurrency=run.concurrency,
                seed=run.seed,
                tick=tick,
                tally=run.tally,
                events=system.events,
            )
        finally:
            ticker.cancel()


def _modes(system: System) -> dict[str, str]:
    """The mode each domain runs in this process now (its flag, capped by any override)."""
    return {
        domain: system.flags.mode_for(domain, None, None) for domain in system.declarations.domains
    }


def _skipped(system: System) -> Counter[str]:
    return Counter(system.shadow_runner.skipped)


async def _divergence_totals(system: System) -> tuple[int, int]:
    """The divergence group counts summed, after every comparison and the store's flush:
    of the groups not judged noise, and of those calibration judged noise."""
    from app.service.divergence_access import fetch_groups

    await system.shadow_runner.drain()  # comparisons still running record theirs first
    await system.divergences.flush()
    groups = await fetch_groups(system.divergences)
    noise = sum(g.count for g in groups if g.status == "noise")
    return sum(g.count for g in groups) - noise, noise


def _print_report(report: TrafficReport) -> None:
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
    p50, p99 = report.percentile_ms(0.5), report.percentile_ms(0.99)
    if p50 is not None and p99 is not None:
        console.print(f"action latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    refused = sum(report.refused.values())
    console.print(f"refused by game rules: {refused}  errors: {report.error_count}")
    for name, count in report.errors.most_common(10):
        console.print(f"  error {name}: {count}")
    divergences = "n/a (no divergence store)" if report.divergences is None else report.divergences
    console.print(f"divergences recorded: {divergences}")


def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print each domain's mode, health and readiness, with the evidence behind it.

    For every domain: its mode, percent and services, how long it has been in that mode and
    who set it, and over the last 15 minutes the calls, divergence rate, errors per path and
    open divergence groups, with a one-word verdict (ok, diverging, erroring, idle), the share
    of calls served in shadow or live that were compared, why the others were not (skip
    reasons) and the shadow path's own failures (timeouts, infrastructure errors); then its
    readiness for the next rollout step: "ready for live", "inconclusive: needs 2,583 more
    comparisons (damage_player: 412 of 2,995 comparisons)" or "blocked: 2 open divergence
    groups". A second table gives each readiness rule's evidence: outcome, n, estimate,
    confidence interval, threshold and what it still needs (the rules are in
    docs/rollout.md). --json prints both, every rule and operation included. The tables
    name the database they read first, its password masked.

    Example: dualpath status --json
    """
    settings = settings_or_exit()
    if as_json:
        logs_to_stderr()
    asyncio.run(_status(settings, as_json))


async def _status(settings: Settings, as_json: bool = False) -> None:
    from app.bootstrap import open_system
    from app.readiness import assess_system, rules_from
    from app.service.divergence_access import fetch_groups
    from app.service.overview import domain_cards

    async with open_system(settings) as system:
        now = datetime.now(UTC)
        rollup = await system.divergences.rollup(since=now - timedelta(minutes=15))
        groups = await fetch_groups(system.divergences, status="open")
        cards = domain_cards(await system.flags.list(), rollup, groups, now)
        readiness = {r.domain: r for r in await assess_system(system, rules_from(settings), now)}
    if as_json:
        _print_status_json(cards, readiness)
    else:
        _print_status_tables(cards, readiness, system.database_url)


def _print_status_tables(
    cards: list[DomainCard], readiness: dict[str, Readiness], database_url: str
) -> None:
    from rich.console import Console

    from app.cli_readiness import EVIDENCE_COLUMNS, evidence_rows, verdict_text
    from app.cli_tables import Column, print_table

    columns = [
        Column(name, priority, whole=name in ("domain", "mode", "health"), min_width=width)
        for name, priority, width in zip(
            STATUS_COLUMNS, STATUS_PRIORITY, STATUS_MIN_WIDTH, strict=True
        )
    ]
    rows = []
    for card in cards:
        found = readiness.get(card.domain)
        rows.append([*_status_row(card), verdict_text(found) if found else "-"])
    console = Console()
    console.print(f"database: {mask_secrets(database_url)}", highlight=False)
    title = "dualpath status: shadowed calls of the last 15 minutes"
    print_table(columns, rows, title=title, console=console)
    evidence = evidence_rows([readiness[c.domain] for c in cards if c.domain in readiness])
    if not evidence:
        return
    title = "readiness evidence: each rule's n, estimate, CI and threshold"
    kept_whole = ("domain", "rule", "outcome")
    evidence_columns = [
        Column(name, EVIDENCE_PRIORITY.get(name, 0), whole=name in kept_whole)
        for name in EVIDENCE_COLUMNS
    ]
    print_table(evidence_columns, evidence, title=title, console=console)


EVIDENCE_PRIORITY = {"estimate": 3, "threshold": 2, "CI": 1}


def _print_status_json(cards: list[DomainCard], readiness: dict[str, Readiness]) -> None:
    from app.records import jsonable

    out = []
    for card in cards:
        found = readiness.get(card.domain)
        mode = {"mode": card.mode, "percent": card.percent, "services": card.services}
        recent = {
            "in_mode_for": card.in_mode_for, "calls": card.calls,
            "comparisons": card.comparisons, "divergences": card.divergences,
            "divergence_rate": card.divergence_rate, "errors": card.errors,
            "open_groups": card.open_groups, "health": _verdict(card),
            "coverage": {
                "served": card.served, "compared": card.comparisons, "share": card.coverage,
                "skipped": card.skipped, "shadow_health": card.health,
                "text": card.coverage_text("the last 15 minutes"),
            },
        }  # fmt: skip
        shown = found.as_dict() if found else None
        out.append({"domain": card.domain, **mode, "last_15_minutes": recent, "readiness": shown})
    print(json.dumps(jsonable(out), indent=2))


def _status_row(card: DomainCard) -> list[str]:
    mode = card.mode if card.percent == 100 else f"{card.mode} {card.percent}%"
    services = ", ".join(card.services) if card.services else "all"
    rate = "-" if card.divergence_rate is None else f"{card.divergence_rate:.2%}"
    errors = f"{card.errors['legacy']}/{card.errors['async']}"
    return [
        card.domain,
        mode,
        services,
        card.in_mode_for,
        str(card.calls),
        rate,
        errors,
        str(card.open_groups),
        _verdict(card),
        "-" if card.coverage is None else f"{card.coverage:.0%} of {card.served:,}",
        _counts_text(card.skipped),
        _counts_text(card.health),
    ]


def _counts_text(counts: dict[str, int]) -> str:
    """``{"saturated": 3, "raced": 1}`` as "raced 1, saturated 3" ("-" if empty)."""
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items()) if n) or "-"


def _verdict(card: DomainCard) -> str:
    if card.errors["legacy"] or card.errors["async"]:
        return "erroring"
    if card.divergences or card.open_groups:
        return "diverging"
    return "ok" if card.calls else "idle"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` (secrets masked) to stderr and exit with ``code``."""
    typer.secho(f"error: {mask_secrets(message)}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def reflow(text: str) -> str:
    """Help text with each paragraph on one line, so the terminal wraps it, not the source."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``traffic`` and ``status`` to the ``dualpath`` command line."""
    app.command("serve", help=reflow(SERVE_HELP))(serve)
    app.command("traffic", help=reflow(traffic.__doc__ or ""))(traffic)
    app.command("status", help=reflow(status.__doc__ or ""))(status)
