"""Write benchmark rows to ``docs/benchmarks.md`` as one table per benchmark."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
RESULTS = Path(__file__).resolve().parent / "results"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of rows that share their keys (minus ``bench``)."""
    columns = [k for k in rows[0] if k != "bench"]
    for row in rows[1:]:
        columns += [k for k in row if k != "bench" and k not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def write(rows: Iterable[dict[str, Any]], *, notes: dict[str, str] | None = None) -> Path:
    """Group rows by ``bench`` and write the Markdown page and a JSON copy."""
    rows = list(rows)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["bench"], []).append(row)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {stamp}, {platform.machine()}, "
        f"Python {platform.python_version()}, one run, all cases in the same process "
        "against the same database. Ratios compare cases of the same run; absolute figures "
        "move with the machine's load.",
    ]
    for name, group in groups.items():
        parts += ["", f"## {name}", ""]
        if notes and name in notes:
            parts += [notes[name], ""]
        parts.append(table(group))
    kept = _kept_sections()
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text("\n".join(parts) + "\n" + "".join(f"\n{s}\n" for s in kept))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=2, default=str))
    return DOCS


BEGIN, END = "<!-- section: ", "<!-- end section -->"


def _kept_sections() -> list[str]:
    """The sections written by ``write_section``, which ``write`` keeps as they are."""
    text = DOCS.read_text() if DOCS.exists() else ""
    kept, start = [], text.find(BEGIN)
    while start != -1:
        end = text.find(END, start)
        if end == -1:
            break
        kept.append(text[start : end + len(END)])
        start = text.find(BEGIN, end)
    return kept


def write_section(name: str, body: str) -> Path:
    """Write (or replace) the section ``name`` of ``docs/benchmarks.md``, kept by ``write``.

    For benchmarks that run on their own (``python -m bench.guard_soak``), not in ``make bench``.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"{BEGIN}{name} -->\n## {name}\n\nMeasured on {stamp}. {body}\n{END}"
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    marker = f"{BEGIN}{name} -->"
    start = text.find(marker)
    if start != -1:
        end = text.find(END, start) + len(END)
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text)
    return DOCS
