"""``dualpath flags list|set|history``: read and change the flags, locally or through a service.

Locally (the default) the commands open the configured flag provider with its overrides and
write to the database directly, recording ``--actor`` (default: the OS user). With ``--url``
they talk to a running ``dualpath serve`` instead and send ``DUALPATH_OPS_TOKEN`` as a bearer
token on every call; the actor is then the token's name. Bad input exits with status 2 and a
message; an unreachable database, Unleash or service exits with status 1.

Registered on the main command line by ``register(app)``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import typer

from app.cli_service import fail, logs_to_stderr, reflow
from app.cli_tables import Column, print_table
from app.settings import Settings
from flags.model import FlagError, FlagProvider, Mode
from flags.validation import check_mode

if TYPE_CHECKING:
    import httpx

__all__ = ["flags_app", "register"]

flags_app = typer.Typer(
    help="Read and change the per-domain flags (legacy → shadow → live → async).",
    no_args_is_help=True,
)
T = TypeVar("T")


class FlagChangeBody(TypedDict):
    """The change ``flags set`` asks for: the body of ``PUT /api/flags/{domain}`` less force."""

    mode: Mode
    percent: int
    services: list[str] | None
    reason: str


URL = typer.Option(None, "--url", help="A running 'dualpath serve', e.g. http://127.0.0.1:8000.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _mode(text: str) -> Mode:
    """The mode named on the command line; a bad one exits 2 before anything is opened."""
    try:
        return check_mode(text)
    except FlagError as exc:
        raise typer.BadParameter(str(exc)) from None


MODE = typer.Argument(..., parser=_mode, help="legacy, shadow, live or async.")


def list_flags(url: str | None = URL, as_json: bool = JSON) -> None:
    """Every domain's flag, with the guard's override if one holds it back.

    Example: dualpath flags list --json
    """
    if url:
        shown = _remote("GET", url, "/api/flags")
    else:
        shown = _local(_list_local)
    _print_flags(shown, as_json)


def set_flag(
    domain: str = typer.Argument(..., help="The domain, e.g. player."),
    mode: Mode = MODE,
    reason: str = typer.Option(..., "--reason", help="Why; kept in the audit log."),
    percent: int = typer.Option(100, "--percent", min=0, max=100, help="Share of keys."),
    services: str | None = typer.Option(None, "--services", help="Only these: a,b."),
    force: bool = typer.Option(False, "--force", help="Allow a jump past the next mode."),
    actor: str | None = typer.Option(None, "--actor", help="Who, locally [OS user]."),
    url: str | None = URL,
    as_json: bool = JSON,
) -> None:
    """Change one domain's flag: one step forward, or any step back; a jump needs --force.

    The change is audited with --reason and the actor, and clears an override the guard put
    on the domain.

    Example: dualpath flags set player shadow --percent 10 --reason "canary for players"
    """
    names = _services(services)
    body: FlagChangeBody = {"mode": mode, "percent": percent, "services": names, "reason": reason}
    if url:
        if actor:
            fail("--actor is for local changes; through --url the actor is the token's name")
        shown = _remote("PUT", url, f"/api/flags/{domain}", {**body, "force": force})
    else:
        who = actor or getpass.getuser()
        shown = _local(lambda flags: _set_local(flags, domain, body, force, who))
    _print_flags([shown], as_json)


def history(
    domain: str | None = typer.Argument(None, help="Only this domain."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many changes."),
    url: str | None = URL,
    as_json: bool = JSON,
) -> None:
    """The audit log of flag changes, newest first, the guard's rollbacks included.

    Example: dualpath flags history player --limit 5
    """
    if url:
        params = {"limit": limit, **({"domain": domain} if domain else {})}
        shown = _remote("GET", url, "/api/flags/history", params=params)
    else:
        shown = _local(lambda flags: _history_local(flags, domain, limit))
    _print_history(shown, as_json)


# At 80 columns the domain, the mode and the time stay whole; the rest wraps or is left out.
FLAG_COLUMNS = (
    Column("domain", whole=True),
    Column("mode", whole=True),
    Column("services", 2),
    Column("set by", 3),
    Column("override", 1),
)
HISTORY_COLUMNS = (
    Column("when (UTC)", whole=True),
    Column("domain", whole=True),
    Column("change", whole=True),
    Column("actor", 2),
    Column("reason", 1),
)


def _services(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        fail(f"--services must be names separated by commas, got {text!r}")
    return names


def _local(action: Callable[[FlagProvider], Awaitable[T]]) -> T:
    from flags.model import FlagError, FlagSourceUnavailable

    logs_to_stderr()
    try:
        return asyncio.run(_with_flags(_settings(), action))
    except FlagError as exc:
        fail(str(exc))
    except FlagSourceUnavailable as exc:
        fail(str(exc), code=1)


async def _with_flags(settings: Settings, action: Callable[[FlagProvider], Awaitable[T]]) -> T:
    from app.bootstrap import declared_domains, make_flag_provider
    from app.database import resolve_database_url
    from flags.overrides import OverriddenFlags

    url = resolve_database_url(settings)
    domains = declared_domains(settings)
    flags = OverriddenFlags(make_flag_provider(settings, url, domains), url, domains)
    await flags.start()
    try:
        return await action(flags)
    finally:
        await flags.close()


async def _list_local(flags: FlagProvider) -> list[dict[str, Any]]:
    from app.service.ops_flags import flag_out

    return [flag_out(state, flags).model_dump(mode="json") for state in await flags.list()]


async def _set_local(
    flags: FlagProvider, domain: str, body: FlagChangeBody, force: bool, actor: str
) -> dict[str, Any]:
    from app.service.ops_flags import flag_out

    state = await flags.set(domain, **body, actor=actor, forced=force)
    return flag_out(state, flags).model_dump(mode="json")


async def _history_local(
    flags: FlagProvider, domain: str | None, limit: int
) -> list[dict[str, Any]]:
    from app.records import as_dict, jsonable

    return [jsonable(as_dict(change)) for change in await flags.history(domain, limit)]


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        fail(str(exc))


def _remote(
    method: str, url: str, path: str, body: object = None, params: dict[str, Any] | None = None
) -> Any:
    """One call to a running service with the ops token; exits 2 on 4xx, 1 if unreachable."""
    import httpx

    token = _settings().ops_token
    if token is None or not token.get_secret_value():
        fail("remote calls need the ops token: set DUALPATH_OPS_TOKEN")
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            response = http.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        fail(f"the service at {url} could not be reached: {exc}", code=1)
    if response.status_code >= 400:
        detail = _detail(response)
        fail(f"{response.status_code}: {detail}", code=2 if response.status_code < 500 else 1)
    return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return str(response.text)
    return detail if isinstance(detail, str) else json.dumps(detail)


def _print_flags(flags: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(flags, indent=2))
        return
    rows = []
    for flag in flags:
        mode = flag["mode"] if flag["percent"] == 100 else f"{flag['mode']} {flag['percent']}%"
        services = ",".join(flag.get("services") or []) or "all"
        held = flag.get("override")
        override = f"held at {held['mode']} by {held['actor']}: {held['reason']}" if held else ""
        rows.append([flag["domain"], mode, services, flag.get("updated_by") or "", override])
    _table(FLAG_COLUMNS, rows)


def _print_history(changes: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(changes, indent=2))
        return
    rows = [
        [
            str(c["changed_at"])[:19], c["domain"],
            f"{c.get('previous_mode') or '-'} → {c['mode']}", c["actor"],
            ("forced " if c.get("forced") else "") + c["reason"],
        ]
        for c in changes
    ]  # fmt: skip
    _table(HISTORY_COLUMNS, rows)


def _table(columns: tuple[Column, ...], rows: list[list[str]]) -> None:
    print_table(columns, rows)


for _name, _command in (("list", list_flags), ("set", set_flag), ("history", history)):
    flags_app.command(_name, help=reflow(_command.__doc__ or ""))(_command)


def register(app: typer.Typer) -> None:
    """Add ``flags`` to the ``dualpath`` command line."""
    app.add_typer(flags_app, name="flags")
