"""``dualpath run``: the whole thing on one machine, for a newcomer (``make run``)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import SecretStr

from app.demo_bugs import DEMO_BUGS, MARK, describe
from app.settings import Settings
from flags.model import Mode
from observability import report_error

if TYPE_CHECKING:
    from app.bootstrap import System
    from shadow.records import DivergenceGroup

# Two domains compared in shadow, one answered by the async path in live.
DEMO_FLAGS: dict[str, tuple[Mode, ...]] = {
    "player": ("shadow",),
    "room": ("shadow",),
    "health": ("shadow", "live"),
}


DEMO_BUG = typer.Option(
    None, "--demo-bug", help=f"Install a deliberate async-path divergence: {describe()}."
)


def run(
    players: int = typer.Option(1000, "--players", min=1, help="Players in a new world."),
    concurrency: int = typer.Option(4, "--concurrency", min=0, help="Background traffic workers."),
    host: str = typer.Option(None, "--host", help="Address to listen on [DUALPATH_HOST]."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port [DUALPATH_PORT]."),
    demo_bug: str | None = DEMO_BUG,
) -> None:
    """Start everything: database, schema, demo world, flags, service and traffic.

    Without DATABASE_URL an embedded PostgreSQL starts under .dualpath/pg (and is reused next
    time). The schema is migrated, a world is seeded if the database has none, player and
    room go to shadow and health to live (only where a domain is still legacy), and the
    service starts with background traffic so the dashboard shows live figures; the traffic
    calls as services of the migration guide (DUALPATH_SERVICES defaults to them) and a
    little as no service, so the migration map has rows. It prints the dashboard URL and
    the ops token it generated (a DUALPATH_OPS_TOKEN is not echoed).

    With --demo-bug NAME one deliberate divergence is installed in the async path (this
    process only, recorded in the code version): within a minute the dashboard shows the
    divergence and its diff, readiness is blocked naming the group, and `dualpath
    divergences repro` writes a reproduction that fails. Each group that diverges in the run
    (three at most) is printed as it opens, with its diff's URL and the commands that
    reproduce it. Plain `dualpath run` installs none.

    SIGTERM and SIGINT (Ctrl-C) stop it cleanly: the service stops taking requests, the
    traffic stops, the comparisons still running finish or are cancelled (their
    transactions rolled back), the divergences queued are written, the pools are closed,
    and the embedded PostgreSQL it started is stopped (its data is kept).

    Example: dualpath run --players 500 --port 8080

    Example: dualpath run --demo-bug damage-off-by-one
    """
    from app.cli_service import settings_or_exit
    from app.database import resolve_database_url
    from persistence.migrate import upgrade
    from persistence.seed import SeedRefused, seed_world

    settings = settings_or_exit()
    if demo_bug is not None and demo_bug not in _bug_names():
        from app.cli_service import fail

        fail(f"--demo-bug must be one of {', '.join(_bug_names())}; got {demo_bug!r}")
    signal.signal(signal.SIGTERM, _interrupted)  # until the loop runs: stop like Ctrl-C
    url = resolve_database_url(settings, stop_at_exit=True)
    upgrade(url)
    with contextlib.suppress(SeedRefused):
        typer.echo(seed_world(url, players=players, seed=42).describe())
    given = settings.ops_token.get_secret_value() if settings.ops_token else None
    token = given or secrets.token_urlsafe(18)
    shown = "(DUALPATH_OPS_TOKEN)" if given else token  # a token of the user's is not echoed
    settings = settings.model_copy(
        update={
            "database_url": url,
            "ops_token": SecretStr(token),
            "host": host or settings.host,
            "port": port or settings.port,
            "services": settings.services or ",".join(_demo_services()),
        }
    )
    with _demo_bug(demo_bug, settings) as settings:
        asyncio.run(_serve(settings, shown, concurrency))


def _bug_names() -> list[str]:
    return list(DEMO_BUGS)


@contextlib.contextmanager
def _demo_bug(name: str | None, settings: Settings) -> Iterator[Settings]:
    """``settings``, with the demo bug ``name`` installed and named in the code version."""
    if name is None:
        yield settings
        return
    from app.demo_bugs import install, version_with

    with install(name) as bug:
        typer.secho(f"demo bug {name}: {bug.description}", fg=typer.colors.YELLOW, bold=True)
        typer.echo(
            "within a minute the divergence shows on /dashboard/divergences, and here with the"
            " commands that reproduce it"
        )
        yield settings.model_copy(
            update={"code_version": version_with(settings.code_version, name)}
        )


async def _serve(settings: Settings, shown_token: str, concurrency: int) -> None:
    import uvicorn

    from app.bootstrap import open_system
    from app.cli_service import stop_on_signals
    from app.service import create_app

    async with open_system(settings) as system:
        await _demo_flags(system)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(system),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                log_config=None,  # uvicorn's loggers go through dualpath's handler, to stderr
            )
        )
        stop_on_signals(server)
        traffic = asyncio.create_task(_background_traffic(system, concurrency))
        watch = asyncio.create_task(_announce_divergences(system, base_of(settings)))
        base = base_of(settings)
        typer.secho(f"\ndashboard: {base}/dashboard", fg=typer.colors.GREEN, bold=True)
        typer.secho(f"ops token: {shown_token}", fg=typer.colors.GREEN, bold=True)
        typer.echo(f"game API:  {base}/docs\nstop with Ctrl-C\n")
        try:
            await server.serve()
        finally:
            for task in (watch, traffic):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def base_of(settings: Settings) -> str:
    """The service's URL."""
    return f"http://{settings.host}:{settings.port}"


#: How many divergence groups ``dualpath run --demo-bug`` announces (the rest: the dashboard).
ANNOUNCED = 3


async def _announce_divergences(system: System, base: str, every_s: float = 1.0) -> None:
    """With a demo bug: each group that diverges in this run (up to ``ANNOUNCED``), once,
    with where to see its diff and how to reproduce it, as this shell runs the commands."""
    if MARK not in system.settings.code_version:
        return
    since, shown = datetime.now(UTC), set[str]()
    while len(shown) < ANNOUNCED:
        try:
            found = await system.divergences.groups(status="open", limit=20)
        except Exception as exc:
            report_error("run.watch_failed", exc)
            found = []
        for group in found:
            if group.last_seen >= since and group.signature not in shown:
                shown.add(group.signature)
                _announce(group, base)
        await asyncio.sleep(every_s)


def _announce(group: DivergenceGroup, base: str) -> None:
    dualpath, pytest = command("dualpath"), command("pytest")
    typer.secho(
        f"\ndivergence: {group.domain}.{group.operation} {group.kind} at"
        f" {', '.join(group.diff_paths) or '-'}",
        fg=typer.colors.YELLOW,
        bold=True,
    )
    typer.echo(f"  its diff:   {base}/dashboard/divergences/{group.signature}")
    typer.echo(f"  readiness:  {dualpath} status")
    typer.echo(
        f"  reproduce:  {dualpath} divergences repro {group.signature} -o repro.py"
        f" && {pytest} repro.py\n"
    )


def command(name: str) -> str:
    """``name`` as this shell runs the one installed beside this Python (``.venv/bin/...``
    when the virtualenv is not on PATH)."""
    here = Path(sys.prefix) / "bin" / name
    if not here.exists() or shutil.which(name) == str(here):
        return name
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def _interrupted(_signum: int, _frame: object) -> NoReturn:
    """SIGTERM before the service runs: unwind as Ctrl-C does (exit status 130)."""
    raise KeyboardInterrupt


def _demo_services() -> list[str]:
    """The calling services of the background traffic, for DUALPATH_SERVICES when unset."""
    from app.service.traffic import DEMO_SERVICES

    return sorted({name for name in DEMO_SERVICES.values() if name})


async def _demo_flags(system: System) -> None:
    """Move the demo domains forward one legal step at a time, unless ops moved them."""
    for domain, steps in DEMO_FLAGS.items():
        current = await system.flags.get(domain)
        if current.mode != "legacy":
            continue
        for mode in steps:
            try:
                await system.flags.set(domain, mode, reason="make run demo", actor="dualpath run")
            except ValueError as exc:
                typer.echo(f"flags: {domain} stays {current.mode}: {exc}")
                break


async def _background_traffic(system: System, concurrency: int) -> None:
    """Run the traffic workload in rounds until cancelled."""
    if concurrency < 1:
        return
    from app.service.traffic import run_traffic

    while True:
        try:  # each action as a service of the migration guide, a few as none (the map's rows)
            await run_traffic(system.router, seconds=30, concurrency=concurrency, services=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report_error("run.traffic_failed", exc)
            await asyncio.sleep(1)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``dualpath`` command."""
    from app.cli_service import reflow

    app.command("run", help=reflow(run.__doc__ or ""))(run)
