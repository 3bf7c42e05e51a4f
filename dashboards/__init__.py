"""The on-call dashboard's Jinja2 templates and static files, and the Grafana dashboard."""

from __future__ import annotations

from pathlib import Path

__all__ = ["GRAFANA_DASHBOARD", "STATIC_DIR", "TEMPLATES_DIR"]

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
GRAFANA_DASHBOARD = HERE / "grafana" / "dualpath.json"
