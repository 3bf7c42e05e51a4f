"""The command line in an 80-column terminal: help wrapped once, tables that fit."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
import typer
from rich.console import Console

from app.cli import app
from app.cli_tables import Column, fitting, print_table

pytestmark = pytest.mark.unit


def commands() -> list[tuple[str, Any]]:
    """Every command of ``dualpath``, with its path."""
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.append((" ".join(path), command))
        for name, sub in (subs or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


class TestHelp:
    """Help texts are wrapped once, by the terminal, never in the source too."""

    @pytest.mark.parametrize(("path", "command"), commands(), ids=[p for p, _ in commands()])
    def test_paragraphs_are_single_lines(self, path: str, command: Any) -> None:
        assert command.help, f"dualpath {path} has no help"
        for paragraph in command.help.split("\n\n"):
            assert "\n" not in paragraph, f"dualpath {path}: hard-wrapped: {paragraph!r}"

    def test_eighty_columns(self) -> None:
        from typer.testing import CliRunner

        result = CliRunner().invoke(app, ["run", "--help"], terminal_width=80)
        assert result.exit_code == 0
        lines = result.output.splitlines()
        assert all(len(line) <= 80 for line in lines)
        # A paragraph wrapped twice leaves a line of one or two words before the next.
        text = [line.strip() for line in lines if "│" not in line]
        ragged = [a for a, b in itertools.pairwise(text) if 0 < len(a) < 20 and len(b) > 60]
        assert ragged == [], ragged


STATUS = (
    Column("domain", whole=True), Column("mode", whole=True), Column("services", 4),
    Column("in mode", 5), Column("calls", 2), Column("div.", 1), Column("err l/a", 3),
    Column("open", 3), Column("health", whole=True), Column("readiness"),
)  # fmt: skip
ROW = [
    "container", "shadow 10%", "api, traffic, inventory", "3 h 12 min", "12,345", "0.02%",
    "0/1", "2", "diverging",
    "inconclusive: needs 2,583 more comparisons (damage_player: 412 of 2,995 comparisons)",
]  # fmt: skip


def rendered(columns: tuple[Column, ...], rows: list[list[str]], width: int) -> str:
    """What ``print_table`` prints on a terminal ``width`` columns wide."""
    out = io.StringIO()
    print_table(columns, rows, console=Console(file=out, width=width, color_system=None))
    return out.getvalue()


class TestTables:
    """At 80 columns low-priority columns go, the rest wrap; domain and mode stay whole."""

    def test_fits_and_keeps_domain_and_mode(self) -> None:
        text = rendered(STATUS, [ROW], 80)
        lines = text.splitlines()
        assert all(len(line) <= 80 for line in lines), text
        assert any("container" in line and "shadow 10%" in line for line in lines), text
        assert "…" not in text
        assert "left out to fit 80 columns" in text

    def test_drops_by_priority(self) -> None:
        kept = [STATUS[i].header for i in fitting(STATUS, [ROW], 80)]
        assert "domain" in kept and "mode" in kept and "health" in kept and "readiness" in kept
        assert "in mode" not in kept  # the highest priority number goes first
        assert fitting(STATUS, [ROW], 400) == list(range(len(STATUS)))

    def test_a_timestamp_is_never_wrapped(self) -> None:
        columns = (Column("when (UTC)", whole=True), Column("domain", whole=True),
                   Column("reason", 1))  # fmt: skip
        text = rendered(columns, [["2026-12-01 20:14:38", "player", "word " * 40]], 80)
        assert "2026-12-01 20:14:38" in text
