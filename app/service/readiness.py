"""``GET /api/readiness``: each domain's verdict for its next rollout step, and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.readiness import assess_system, rules_from
from app.records import jsonable
from app.service.state import State

__all__ = ["router"]

router = APIRouter(prefix="/api/readiness", tags=["ops: readiness"])


@router.get("")
async def readiness(state: State) -> list[dict[str, Any]]:
    """Per domain: the verdict for its next step and the evidence of every rule behind it.

    ``outcome`` is pass, inconclusive or fail; ``evidence`` holds one verdict per rule (the
    soak, open groups, the async error rate, and the divergence rate of each operation that
    ran), each with its rule, n, estimate, interval, confidence, threshold and, when
    inconclusive, how many more samples it needs; ``operations`` the per-operation counts.
    """
    system = state.require_system()
    found = await assess_system(system, rules_from(system.settings))
    return [jsonable(r.as_dict()) for r in found]
