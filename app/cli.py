"""The ``dualpath`` command line."""

from __future__ import annotations

import os
import sys

import typer

from app.cli_service import fail
from app.settings import Settings

app = typer.Typer(
    name="dualpath",
    help="Feature-flagged, dual-path persistence with shadow comparison.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a crash must not print the database password
)


@app.callback()
def _logging() -> None:
    # Every command logs to stderr (DUALPATH_LOG_FORMAT, DUALPATH_LOG_LEVEL): stdout is its answer.
    from app.logs import configure_logging

    try:
        configure_logging()
    except ValueError as exc:
        fail(str(exc))


db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def database_url() -> str:
    """The configured database URL; starts the embedded server when DATABASE_URL is unset."""
    from app.database import resolve_database_url

    try:
        settings = Settings()
    except ValueError as exc:
        fail(str(exc))
    return resolve_database_url(settings)


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
    dualpath_only: bool = typer.Option(
        False, "--dualpath-only", help="dualpath's own tables only, without the MUD's schema."
    ),
) -> None:
    """Apply the Alembic migrations.

    Example: dualpath db upgrade --dualpath-only
    """
    from persistence.migrate import upgrade

    url = database_url()
    upgrade(url, revision, dualpath_only=dualpath_only)
    typer.echo(f"database at {revision}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL under the data dir, if one runs (one left by a crash).

    Its data stays under DUALPATH_DATA_DIR/pg: the next command starts it again. A database
    given by DATABASE_URL is not dualpath's to stop and is left alone.

    Example: dualpath db stop
    """
    from app.database import stop_embedded

    try:
        settings = Settings()
    except ValueError as exc:
        fail(str(exc))
    folder = settings.data_dir / "pg"
    pid = stop_embedded(folder)
    typer.echo(f"stopped the embedded PostgreSQL in {folder} (pid {pid})" if pid else
               f"no embedded PostgreSQL runs in {folder}")  # fmt: skip


@app.command()
def seed(
    players: int = typer.Option(1000, "--players", min=0, help="Number of players."),
    seed_value: int = typer.Option(0, "--seed", help="Random seed; the same seed, the same world."),
    replace: bool = typer.Option(False, "--replace", help="Clear an existing world first."),
) -> None:
    """Create the demo world: zones, 100+ rooms with exits, professions, players, items.

    Example: dualpath seed --players 1000 --seed 42
    """
    from persistence.seed import SeedRefused, seed_world

    try:
        summary = seed_world(database_url(), players=players, seed=seed_value, replace=replace)
    except SeedRefused as exc:
        fail(str(exc))
    typer.echo(summary.describe())


def main() -> None:
    """Entry point of the ``dualpath`` console script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    from app.bootstrap import UnusableDeclarations

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except UnusableDeclarations as exc:  # bad input: a message, not a traceback
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)


from app.cli_service import register  # noqa: E402

register(app)

from app.cli_run import register as register_run  # noqa: E402

register_run(app)

from app.cli_flags import register as register_flags  # noqa: E402

register_flags(app)
__import__("app.cli_calibration", fromlist=["register"]).register(app)
__import__("app.cli_services", fromlist=["register"]).register(app)
__import__("app.cli_guard", fromlist=["register"]).register(app)


def _help_wrapped_once(typer_app: typer.Typer) -> None:
    """Every command's help with its paragraphs on one line each: the terminal wraps them."""
    from app.cli_service import reflow

    for command in typer_app.registered_commands:
        text = command.help or (command.callback.__doc__ if command.callback else None)
        if text:
            command.help = reflow(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _help_wrapped_once(group.typer_instance)


_help_wrapped_once(app)
