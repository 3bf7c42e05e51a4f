"""The HTTP service: game API, ops API, dashboard, health and metrics (``dualpath serve``)."""

from __future__ import annotations

from app.service.factory import create_app

__all__ = ["create_app"]
