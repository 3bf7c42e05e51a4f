"""Small inline SVG charts drawn on the server: no script, no library, nothing to load."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["sparkline"]

WIDTH = 240
HEIGHT = 44
PAD = 2


def sparkline(
    series: Sequence[tuple[str, str, Sequence[float]]], *, title: str = "", scale_max: float = 0
) -> str:
    """An SVG with one polyline per ``(name, css_class, values)``, all on one shared scale.

    Values are evenly spaced; the first point is the oldest. The highest value across the
    series (at least ``scale_max``) reaches the top.
    """
    top = max([scale_max, *(max(values, default=0) for _, _, values in series)]) or 1.0
    lines = [_polyline(values, top, css, name) for name, css, values in series if values]
    label = escape(title)
    return (
        f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' preserveAspectRatio="none" role="img" aria-label="{label}"><title>{label}</title>'
        f'<line class="base" x1="0" y1="{HEIGHT - PAD}" x2="{WIDTH}" y2="{HEIGHT - PAD}"/>'
        + "".join(lines)
        + "</svg>"
    )


def _polyline(values: Sequence[float], top: float, css: str, name: str) -> str:
    step = WIDTH / max(len(values) - 1, 1)
    span = HEIGHT - 2 * PAD
    points = " ".join(
        f"{i * step:.1f},{HEIGHT - PAD - (v / top) * span:.1f}" for i, v in enumerate(values)
    )
    return (
        f'<polyline class="{escape(css)}" points="{points}">'
        f"<title>{escape(name)}</title></polyline>"
    )
