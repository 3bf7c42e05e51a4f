"""``dualpath services``: the migration map (calling services by domains) on the command line.

Locally (the default) it reads the flags and the per-service rollup from the database; with
``--url`` it asks a running ``dualpath serve`` (``GET /api/services``). ``--service`` shows
one service's readiness in every domain, each verdict with its evidence.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from app.cli_flags import _remote, _with_flags
from app.cli_service import fail, logs_to_stderr, reflow, settings_or_exit
from flags.model import FlagProvider

__all__ = ["register", "services"]

LEGEND = (
    "cell: mode the flag gives the service (* = the flag names it), share answered by async, "
    "calls/min, comparisons, open divergence groups; readiness: pass, inconc. or FAIL"
)


def services(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    window: int = typer.Option(15, "--window", min=1, max=1440, help="Minutes of calls to sum."),
    service: str | None = typer.Option(None, "--service", help="One service's readiness."),
    url: str | None = typer.Option(None, "--url", help="A running 'dualpath serve' to ask."),
) -> None:
    """The migration map: for every calling service and domain, the mode the flag gives the
    service, the share of its calls answered by the async path, calls per minute, comparisons,
    open divergence groups its calls hit, its readiness, and the step that moves it alone.

    Rows are the configured services (DUALPATH_SERVICES), the others seen, 'unattributed'
    (calls made without a service) and 'other' (names past DUALPATH_SERVICE_CAP).

    Example: dualpath services --json
    """
    if url:
        found = _remote("GET", url, "/api/services", params={"window": window})
    else:
        found = asyncio.run(_local(window))
    if service is not None:
        _readiness(found, service, as_json)
    elif as_json:
        print(json.dumps(found))
    else:
        _print_map(found)


async def _local(window: int) -> dict[str, Any]:
    from app.database import resolve_database_url
    from app.service_map import fetch_map
    from shadow.pool import LazyPool

    settings = settings_or_exit()
    logs_to_stderr()
    pool = LazyPool(resolve_database_url(settings))

    async def build(flags: FlagProvider) -> dict[str, Any]:
        found = await fetch_map(
            flags,
            pool,
            configured=settings.service_names,
            threshold=settings.guard_max_divergence_rate,
            window_minutes=window,
        )
        return found.as_dict()

    try:
        return await _with_flags(settings, build)
    finally:
        await pool.close()


def _readiness(found: dict[str, Any], service: str, as_json: bool) -> None:
    row = next((r for r in found["services"] if r["service"] == service), None)
    if row is None:
        fail(f"no service {service!r} on the map")
    verdicts = [cell["readiness"] for cell in row["cells"].values() if cell["readiness"]]
    if as_json:
        print(json.dumps(verdicts))
        return
    for verdict in verdicts:
        typer.echo(f"{verdict['domain']} ({verdict['mode']}): {verdict['explanation']}")


def _print_map(found: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"migration map: calls of the last {found['window_minutes']} minutes")
    table.add_column("service", no_wrap=True)
    for domain in found["domains"]:
        table.add_column(domain)
    for row in found["services"]:
        cells = [_cell_text(row["cells"][d]) for d in found["domains"]]
        table.add_row(row["service"], *cells)
    console = Console()
    console.print(table)
    console.print(LEGEND)


def _cell_text(cell: dict[str, Any]) -> str:
    share = "-" if cell["async_share"] is None else f"{cell['async_share']:.0%}"
    outcome = {"pass": "pass", "inconclusive": "inconc.", "fail": "FAIL"}
    ready = outcome.get((cell["readiness"] or {}).get("outcome", ""), "-")
    mark = "*" if cell["targeted"] else ""
    return (
        f"{cell['mode']}{mark} {share}\n{cell['calls_per_minute']:.1f}/m "
        f"{cell['comparisons']}c {cell['open_divergences']}o\n{ready}"
    )


def register(app: typer.Typer) -> None:
    """Add ``services`` to the ``dualpath`` command line."""
    app.command("services", help=reflow(services.__doc__ or ""))(services)
