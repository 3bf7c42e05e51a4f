"""Tables of the command line that fit the terminal they are printed in.

Each column has a priority. When the terminal is too narrow for every column at its
narrowest (its longest word, or its longest cell for a column kept whole), the least
important columns are left out, one at a time, and the table says which. What remains
wraps within its cells; a column kept whole (a domain, a mode, a timestamp) is never
wrapped nor truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["Column", "print_table"]

CELL_EDGES = 3  # a column's padding and its border in Rich's default box
WORD_CAP = 16  # a longer word may fold across lines


@dataclass(frozen=True)
class Column:
    """One column: its header, its priority (0 is always kept), whether it is kept whole, and
    the narrowest it may be (a long text wrapped into a sliver is not readable)."""

    header: str
    priority: int = 0
    whole: bool = False
    justify: str = "left"
    min_width: int = 0


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print ``rows`` under ``columns``, dropping low-priority columns to fit the width."""
    console = console or Console()
    kept = fitting(columns, rows, console.width)
    widths = _widths([columns[i] for i in kept], [[row[i] for i in kept] for row in rows],
                     console.width)  # fmt: skip
    table = Table(title=title, title_justify="left")
    for i, width in zip(kept, widths, strict=True):
        column = columns[i]
        table.add_column(
            column.header,
            no_wrap=column.whole,
            overflow="fold",
            justify=column.justify,  # type: ignore[arg-type]
            width=width,
        )
    for row in rows:
        table.add_row(*(escape(row[i]) for i in kept))
    console.print(table)
    left_out = [c.header for i, c in enumerate(columns) if i not in kept]
    if left_out:
        console.print(
            f"(left out to fit {console.width} columns: {', '.join(left_out)};"
            " widen the terminal or use --json)",
            highlight=False,
        )


def fitting(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """The indexes of the columns kept at ``width``, in their order."""
    kept = list(range(len(columns)))
    narrowest = [_narrowest(c, [row[i] for row in rows]) for i, c in enumerate(columns)]
    while _needed(kept, narrowest) > width:
        droppable = [i for i in kept if columns[i].priority > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
    return kept


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Each column's width: its narrowest, then what is left shared by the columns that wrap,
    up to their longest cell, so that the table is no wider than ``width``."""
    cells = [[row[i] for row in rows] for i in range(len(columns))]
    widths = [_narrowest(c, cells[i]) for i, c in enumerate(columns)]
    wanted = [max([len(c.header), *(len(x) for x in cells[i])]) for i, c in enumerate(columns)]
    spare = width - _needed(list(range(len(columns))), widths)
    while spare > 0:
        growing = [i for i, w in enumerate(widths) if w < wanted[i]]
        if not growing:
            break
        for i in growing[:spare]:
            widths[i] += 1
        spare -= min(spare, len(growing))
    return widths


def _needed(kept: list[int], narrowest: list[int]) -> int:
    return sum(narrowest[i] + CELL_EDGES for i in kept) + 1


def _narrowest(column: Column, cells: Sequence[str]) -> int:
    header = max((len(w) for w in column.header.split()), default=0)
    if column.whole:
        return max([len(column.header), *(len(c) for c in cells)])
    words = [min(len(w), WORD_CAP) for cell in cells for w in cell.split()]
    longest = max((len(c) for c in cells), default=0)
    return max([header, *words, min(column.min_width, longest)])
