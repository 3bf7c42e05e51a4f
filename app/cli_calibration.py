"""``dualpath divergences noise|accept-noise|repro``: calibration's verdicts and reproductions.

``noise`` shows every field path's verdict (A/B against A/A, with both counts, both n, the
rule, the rates' CIs) and the ignore rules calibration proposes; ``accept-noise`` accepts one
(one command, recorded with its actor and evidence); ``repro`` writes a group's reproduction,
a self-contained pytest file. Bad input exits 2, an unreachable database 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.cli_divergences import (
    ACTOR,
    JSON,
    SIGNATURE,
    _actor,
    _check_signature,
    _print_json,
    _run,
    divergences_app,
)
from app.cli_divergences import register as register_divergences
from app.cli_service import fail, reflow

__all__ = ["register"]

OUTPUT = typer.Option(None, "-o", "--output", help="The file to write [repro_<sig>.py].")


def noise(as_json: bool = JSON) -> None:
    """Calibration's verdict on every field path seen differing, and the ignore rules it proposes.

    A path is noise when its A/B rate (primary against the other path) is not significantly
    above its A/A rate (the primary's path against itself) and A/A saw it differ; real when it
    is, past Diffy's floor; inconclusive without enough data. Groups whose paths are all noise
    get status noise.

    Example: dualpath divergences noise --json
    """

    async def both(d: Any) -> tuple[Any, Any]:
        await d.calibrate()
        return await d.noise.verdicts(), await d.noise.proposals()

    verdicts, proposals = _run(both)
    proposed = {(p.verdict.domain, p.verdict.operation, p.verdict.path) for p in proposals}
    rows = [
        {"domain": v.domain, "operation": v.operation, **v.as_dict(),
         "proposed": (v.domain, v.operation, v.path) in proposed}
        for v in verdicts
    ]  # fmt: skip
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no field path has differed yet (calibration needs shadowed calls)")
    for v in verdicts:
        mark = "  proposed ignore rule" if (v.domain, v.operation, v.path) in proposed else ""
        typer.echo(f"{v.domain}.{v.operation}  {v.summary()}{mark}")
    for p in proposals:
        v = p.verdict
        typer.echo(f"accept: dualpath divergences accept-noise {v.domain} {v.operation} '{v.path}'")


def accept_noise(
    domain: str = typer.Argument(..., help="The domain, e.g. player."),
    operation: str = typer.Argument(..., help="The operation, e.g. save_player."),
    path: str = typer.Argument(..., help="The field path, as 'noise' prints it."),
    actor: str | None = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Accept calibration's proposed ignore rule for one field path (recorded with the actor).

    The rule's reason is calibration's evidence; it fails if the path is not judged noise now.

    Example: dualpath divergences accept-noise player get_player_by_id "root['stats']['fear']"
    """
    who = _actor(actor)

    async def accept(d: Any) -> Any:
        try:
            return await d.noise.accept(domain, operation, path, actor=who)
        except ValueError as exc:
            return exc

    rule = _run(accept)
    if isinstance(rule, ValueError):
        fail(str(rule))
    record = {"id": rule.id, "domain": rule.domain, "operation": rule.operation,
              "path": rule.path, "owner": rule.owner, "reason": rule.reason}  # fmt: skip
    if as_json:
        _print_json(record)
        return
    typer.echo(f"ignore rule {rule.id} added by {rule.owner}: {rule.reason}")


def repro(
    signature: str = SIGNATURE,
    exemplar: int = typer.Option(1, "--exemplar", min=1, help="Which exemplar, 1 the newest."),
    output: Path | None = OUTPUT,
) -> None:
    """Write a group's reproduction: a pytest file that fails while the divergence is there.

    It inserts the rows the call started from (a write's rows as its primary captured them,
    a read's as its primary returned them), runs the operation on both paths (each in a
    transaction it rolls back) and asserts that results, errors, write effects and events
    agree. It says what it captured, and warns when a call's rows could not be captured.
    Run it from the project root with pytest; it uses DATABASE_URL or the test PostgreSQL.

    Example: dualpath divergences repro 3f2a9c0d1b7e4a5f9c8d7e6f5a4b3c2d -o repro.py
    """
    from app.repro import exemplar_data, write_reproduction

    _check_signature(signature)

    async def both(d: Any) -> tuple[Any, Any]:
        return await d.group(signature), await d.exemplars(signature)

    group, exemplars = _run(both)
    if exemplar > len(exemplars):
        fail(
            f"group {signature} has {len(exemplars)} exemplar(s); --exemplar {exemplar} is not one"
        )
    target = output or Path(f"repro_{signature[:12]}.py")
    data = exemplar_data(group, exemplars[exemplar - 1])
    written = write_reproduction(data, target)
    typer.echo(f"wrote {written}; run: pytest {written}")
    if data["captured"] is None:
        typer.secho(f"warning: captured: {data['captured_note']}", err=True, fg=typer.colors.YELLOW)
    else:
        typer.echo(f"captured: {data['captured_note']}")


def register(app: typer.Typer) -> None:
    """Add ``divergences`` with ``noise``, ``accept-noise`` and ``repro`` to ``dualpath``."""
    register_divergences(app)
    for name, command in (("noise", noise), ("accept-noise", accept_noise), ("repro", repro)):
        divergences_app.command(name, help=reflow(command.__doc__ or ""))(command)
