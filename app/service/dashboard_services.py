"""The migration map page of the dashboard: calling services by domains."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from app.service.dashboard import page
from app.service.ops_services import migration_map
from app.service.state import ServiceState, service_state
from app.service_map import WINDOW_MINUTES

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
State = Annotated[ServiceState, Depends(service_state)]


@router.get("/services", response_class=HTMLResponse)
async def services_map(
    request: Request,
    state: State,
    window: Annotated[int, Query(ge=1, le=24 * 60)] = WINDOW_MINUTES,
) -> HTMLResponse:
    """Each cell: async share, calls/min, comparisons, open divergences, targeting, readiness."""
    found = await migration_map(state, window)
    return page(request, "services.html", map=found)
