"""``GET /api/readiness``: each domain's verdict for its next rollout step, and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.readiness import assess_system, rules_from
from app.service.records import as_dict, jsonable
from app.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(prefix="/api/readiness", tags=["ops: readiness"])
State = Annotated[ServiceState, Depends(service_state)]


@router.get("")
async def readiness(state: State) -> list[dict[str, Any]]:
    """Per domain: mode, time in mode, comparisons, open groups, error rates and the verdict."""
    system = state.require_system()
    found = await assess_system(system, rules_from(system.settings))
    return [jsonable(as_dict(r)) for r in found]
