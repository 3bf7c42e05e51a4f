"""``GET /api/services``: the migration map (calling services by domains), readiness per service.

A cell's ``step`` is the body of ``PUT /api/flags/{domain}`` that moves that service alone
one step forward; it goes through the ordinary flag API (same token, audit and transitions).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from app.service.state import ServiceState, service_state
from app.service_map import WINDOW_MINUTES, ServiceMap, load_map

__all__ = ["migration_map", "router"]

router = APIRouter(prefix="/api/services", tags=["ops: services"])
State = Annotated[ServiceState, Depends(service_state)]
Window = Annotated[int, Query(ge=1, le=24 * 60, description="minutes of calls to sum")]


async def migration_map(state: ServiceState, window: int = WINDOW_MINUTES) -> ServiceMap:
    """The map of the open system."""
    return await load_map(state.require_system(), window)


@router.get("")
async def services(state: State, window: Window = WINDOW_MINUTES) -> dict[str, Any]:
    """Every calling service in every domain: async share, calls/min, comparisons, open divergences,
    the mode the flag gives the service, its readiness, and the step that moves it alone."""
    return (await migration_map(state, window)).as_dict()


@router.get("/{service}/readiness")
async def service_readiness(
    state: State, service: str, domain: str | None = None, window: Window = WINDOW_MINUTES
) -> list[dict[str, Any]]:
    """One service's readiness per domain (or in ``domain``), each verdict with its evidence."""
    found = await migration_map(state, window)
    row = next((r for r in found.rows if r.service == service), None)
    if row is None:
        raise HTTPException(404, f"no service {service!r} on the map")
    if domain is not None and domain not in found.domains:
        raise HTTPException(404, f"no domain {domain!r}")
    cells = [c for c in row.cells if domain is None or c.domain == domain]
    return [c.readiness.as_dict() for c in cells if c.readiness is not None]
