"""Jinja2 filters of the dashboard: numbers, percentages, durations and moments as text."""

from __future__ import annotations

from datetime import datetime

from app.readiness_rules import cells, percent_text
from app.records import since_text

__all__ = ["FILTERS"]

NOTHING = "\N{EN DASH}"


def ms(value: float | None) -> str:
    """A latency in milliseconds."""
    if value is None:
        return NOTHING
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def pct(value: float | None) -> str:
    """A ratio as a percentage."""
    return NOTHING if value is None else f"{value * 100:.2f}%"


def ago(value: datetime | None) -> str:
    """How long ago a moment was."""
    return since_text(value) + " ago" if value else NOTHING


def when(value: datetime | str | None) -> str:
    """A moment as ``YYYY-MM-DD HH:MM:SS`` (UTC as stored)."""
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else NOTHING


FILTERS = {
    "ms": ms,
    "pct": pct,
    "ago": ago,
    "when": when,
    "rate": percent_text,
    "verdict_cells": cells,
}
