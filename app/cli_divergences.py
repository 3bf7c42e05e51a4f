"""``dualpath divergences list|show|ignore|reopen|fixed``: triage what the shadow recorded.

``noise``, ``accept-noise`` and ``repro`` (calibration's verdicts and reproductions) are in
``app.cli_calibration``, which registers them beside these.

Each command opens the divergence store on the configured database (``DATABASE_URL``), does
one thing and closes it. Decisions are recorded with ``--actor`` (default: the OS user) and
``--reason``. Bad input (an unknown status, kind or domain, a malformed or unknown signature,
an expiry in the past) exits with status 2 and a message; a database that cannot be reached
exits with status 1.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import shutil
import textwrap
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from app.cli_service import fail, reflow
from app.settings import Settings

if TYPE_CHECKING:
    from shadow.divergences import Divergences
    from shadow.records import DivergenceGroup, Exemplar

T = TypeVar("T")

__all__ = ["divergences_app", "parse_duration", "parse_expiry", "register"]

divergences_app = typer.Typer(
    help="List divergence groups, look at their exemplars, and decide on them.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON instead of text.")
SIGNATURE = typer.Argument(..., help="The group's signature (32 hex digits, from 'list').")
ACTOR = typer.Option(None, "--actor", help="Who decides [OS user].")
_SIGNATURE = re.compile(r"^[0-9a-f]{32}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def list_groups(
    domain: str | None = typer.Option(None, "--domain", help="Only this domain."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind, e.g. result_mismatch."),
    status: str | None = typer.Option(None, "--status", help="open, ignored, fixed or noise."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="At most this many."),
    as_json: bool = JSON,
) -> None:
    """The divergence groups, most recently seen first.

    Example: dualpath divergences list --domain health --status open
    """
    _check_filters(domain, kind, status)
    groups = _run(lambda d: d.groups(domain=domain, status=status, kind=kind, limit=limit))
    rows = [_record(g) for g in groups]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no divergence groups")
        return
    _print_groups(rows)
    _print_notes(rows)


def _print_notes(rows: list[dict[str, Any]]) -> None:
    """Under the table, each group's notes, wrapped to the terminal's width."""
    width = shutil.get_terminal_size().columns
    for row in rows:
        notes = group_notes(row)
        if notes:
            typer.echo(f"{row['signature']}:")
        for line in notes:
            typer.echo(textwrap.fill(line, width, initial_indent="  ", subsequent_indent="    "))


def _print_groups(rows: list[dict[str, Any]]) -> None:
    """The groups as a table; at 80 columns the signature and domain.operation stay whole."""
    from app.cli_tables import Column, print_table

    columns = (
        Column("signature", whole=True), Column("operation", whole=True),
        Column("count", 1, justify="right"), Column("status", 2, whole=True),
        Column("kind", 3), Column("diff paths", 4),
    )  # fmt: skip
    cells = [
        [r["signature"], f"{r['domain']}.{r['operation']}", str(r["count"]), r["status"], r["kind"],
         ", ".join(r["diff_paths"])]
        for r in rows
    ]  # fmt: skip
    print_table(columns, cells)


def group_notes(row: dict[str, Any]) -> list[str]:
    """What a listing adds under a group: calibration's evidence, fixed and recurred versions."""
    notes = []
    evidence = row.get("noise_evidence") or {}
    for path in evidence.get("paths", []) if row["status"] in ("open", "noise") else []:
        ab, aa = path["ab"], path["aa"]
        notes.append(
            f"calibration {path['status']}: {path['path']} A/B {ab['diffs']}/{ab['n']}"
            f" vs A/A {aa['diffs']}/{aa['n']} (p = {path['p_value']:.3g}): {path['why']}"
        )
    if row.get("noise_overruled"):
        notes.append("calibration overruled: reopened by ops")
    if row.get("fixed_version"):
        recurred = row.get("recurred_version")
        notes.append(
            f"fixed in {row['fixed_version']}" + (f", recurred in {recurred}" if recurred else "")
        )
    return notes


def show(signature: str = SIGNATURE, as_json: bool = JSON) -> None:
    """One group and its stored exemplars (inputs, both sides, the diff).

    Example: dualpath divergences show 3f2a9c0d1b7e4a5f9c8d7e6f5a4b3c2d
    """
    _check_signature(signature)

    async def both(d: Divergences) -> tuple[DivergenceGroup, list[Exemplar]]:
        return await d.group(signature), await d.exemplars(signature)

    group, exemplars = _run(both)
    record = {**_record(group), "exemplars": [_record(e) for e in exemplars]}
    if as_json:
        _print_json(record)
        return
    typer.echo(json.dumps(record, indent=2, sort_keys=True, default=str))


def ignore(
    signature: str = SIGNATURE,
    reason: str = typer.Option(..., "--reason", help="Why the difference is acceptable."),
    expires: str | None = typer.Option(None, "--expires", help="Until, ISO 8601 (UTC if bare)."),
    for_: str | None = typer.Option(None, "--for", help="For how long: 30m, 2h, 7d."),
    actor: str | None = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Ignore a group: its divergences stop being recorded (until --expires or --for ends).

    Example: dualpath divergences ignore 3f2a9c0d1b7e4a5f9c8d7e6f5a4b3c2d --reason "clock
    column" --for 2h
    """
    _check_signature(signature)
    _check_reason(reason)
    if expires is not None and for_ is not None:
        fail("give --expires or --for, not both")
    until = parse_expiry(expires) if expires else parse_duration(for_) if for_ else None
    who = _actor(actor)
    group = _run(lambda d: d.ignore(signature, reason=reason, actor=who, expires_at=until))
    _print_decision(group, as_json)


def reopen(
    signature: str = SIGNATURE,
    reason: str = typer.Option("", "--reason", help="Why."),
    actor: str | None = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Reopen a group, ending the ignore rules made for it.

    Example: dualpath divergences reopen 3f2a9c0d1b7e4a5f9c8d7e6f5a4b3c2d --reason "still wrong"
    """
    _check_signature(signature)
    who = _actor(actor)
    _check_text(reason)
    _print_decision(_run(lambda d: d.reopen(signature, actor=who, reason=reason)), as_json)


def fixed(
    signature: str = SIGNATURE,
    reason: str = typer.Option("", "--reason", help="What fixed it."),
    version: str | None = typer.Option(
        None, "--version", help="The code version of the fix [DUALPATH_CODE_VERSION]."
    ),
    actor: str | None = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Mark a group fixed in a code version; it reopens by itself if it diverges again.

    Example: dualpath divergences fixed 3f2a9c0d1b7e4a5f9c8d7e6f5a4b3c2d --reason "release 1.4"
    --version 1.4
    """
    _check_signature(signature)
    who = _actor(actor)
    _check_text(reason)
    fix = version if version is not None else _settings().code_version
    _print_decision(
        _run(lambda d: d.mark_fixed(signature, actor=who, reason=reason, version=fix)), as_json
    )


def parse_duration(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` (``30m``, ``2h``, ``7d``) from now; exits 2 if malformed."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) <= 0:
        fail(f"--for must be a positive number and a unit (s, m, h, d, w), e.g. 2h; got {text!r}")
    span = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return (now or datetime.now(UTC)) + span


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 moment in the future (UTC if it has no offset); exits 2 otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--expires must be an ISO 8601 date or time, e.g. 2026-01-31T18:00; got {text!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= (now or datetime.now(UTC)):
        fail(f"--expires {text} is in the past")
    return moment


def _check_filters(domain: str | None, kind: str | None, status: str | None) -> None:
    from app.bootstrap import declared_domains
    from shadow.divergences import STATUSES
    from shadow.observation import KINDS

    for name, value, allowed in (
        ("--domain", domain, declared_domains(Settings())),
        ("--kind", kind, KINDS),
        ("--status", status, STATUSES),
    ):
        if value is not None and value not in allowed:
            fail(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _check_signature(signature: str) -> None:
    if not _SIGNATURE.match(signature):
        fail(f"a signature is 32 lowercase hex digits (see 'divergences list'); got {signature!r}")


def _check_reason(reason: str) -> None:
    if not reason.strip():
        fail("--reason must say why")
    _check_text(reason)


def _check_text(reason: str) -> None:
    """The API's rule for free text: bounded, no control character, no unpaired surrogate."""
    from flags.validation import check_printable

    try:
        check_printable(reason, "--reason")
    except ValueError as exc:
        fail(str(exc))


def _actor(actor: str | None) -> str:
    who = actor if actor is not None else getpass.getuser()
    if not who.strip():
        fail("--actor must not be blank")
    return who


def _run(action: Callable[[Divergences], Awaitable[T]]) -> T:
    """``action(divergences)`` over the configured database; exits 2 or 1 on failure."""
    import asyncpg

    from shadow.divergences import UnknownSignature

    _logs_to_stderr()
    try:
        return asyncio.run(_with_divergences(_settings(), action))
    except UnknownSignature as exc:
        fail(str(exc))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        fail(f"the database could not be reached: {exc}", code=1)


async def _with_divergences(settings: Settings, action: Callable[[Divergences], Awaitable[T]]) -> T:
    from app.bootstrap import make_shadow
    from app.database import resolve_database_url

    shadow = make_shadow(settings, resolve_database_url(settings))
    shadow.start()
    try:
        return await action(shadow.divergences)
    finally:
        await shadow.stop(max_wait_s=1.0)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        fail(str(exc))


def _logs_to_stderr() -> None:
    """Keep stdout for the answer (``--json`` is parsed by scripts); logs go to stderr."""
    from app.logs import configure_logging

    configure_logging()


def _record(record: DivergenceGroup | Exemplar) -> dict[str, Any]:
    from app.records import as_dict, jsonable

    out: dict[str, Any] = jsonable(as_dict(record))
    return out


def _print_json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _print_decision(group: DivergenceGroup, as_json: bool) -> None:
    record = _record(group)
    if as_json:
        _print_json(record)
        return
    typer.echo(f"{record['signature']} is now {record['status']} (by {record['status_by']})")


def register(app: typer.Typer) -> None:
    """Add ``divergences`` and its commands to the ``dualpath`` command line."""
    for name, command in (
        ("list", list_groups),
        ("show", show),
        ("ignore", ignore),
        ("reopen", reopen),
        ("fixed", fixed),
    ):
        divergences_app.command(name, help=reflow(command.__doc__ or ""))(command)
    app.add_typer(divergences_app, name="divergences")
