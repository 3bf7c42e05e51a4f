"""The ops API for calibration and reproductions: noise verdicts, proposals, repro files.

``GET /api/calibration/noise`` gives every field path's verdict (A/B against A/A, both counts,
both n, the rule, CIs) and whether it is proposed as an ignore rule; ``POST
/api/calibration/accept`` accepts one proposal (audited with the token's actor and the
evidence); ``GET /api/divergences/{signature}/repro`` returns a group's reproduction, a
self-contained pytest file (what ``dualpath divergences repro`` writes).
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import AfterValidator, BaseModel, Field

from app.repro import exemplar_data, reproduction
from app.service.divergence_access import divergence_store
from app.service.ops_auth import Actor
from app.service.problems import problems
from app.service.state import State
from flags.validation import check_printable

__all__ = ["router"]

router = APIRouter(tags=["ops: calibration"])


def _printable_field(value: str) -> str:
    return check_printable(value, "the field", 1000)


#: A name or path: bounded, and no control characters or unpaired surrogates.
Printable = AfterValidator(_printable_field)


class AcceptRequest(BaseModel):
    """The proposal to accept: one field path of one operation."""

    domain: Annotated[str, Field(min_length=1, max_length=64), Printable]
    operation: Annotated[str, Field(min_length=1, max_length=128), Printable]
    path: Annotated[str, Field(min_length=1, max_length=1000), Printable]


@router.get("/api/calibration/noise")
async def noise(state: State) -> list[dict[str, Any]]:
    """Every field path's noise verdict with its evidence, and whether it is proposed."""
    store = divergence_store(state.require_system())
    await store.calibrate()
    judge = _judge(store)
    proposed = {(p.verdict.domain, p.verdict.operation, p.verdict.path)
                for p in await judge.proposals()}  # fmt: skip
    return [
        {"domain": v.domain, "operation": v.operation, **v.as_dict(),
         "proposed": (v.domain, v.operation, v.path) in proposed}
        for v in await judge.verdicts()
    ]  # fmt: skip


@router.post("/api/calibration/accept", responses=problems(409))
async def accept(state: State, body: AcceptRequest, actor: Actor) -> dict[str, Any]:
    """Accept calibration's proposed ignore rule for one path; 409 if it is not proposed now."""
    judge = _judge(divergence_store(state.require_system()))
    try:
        rule = await judge.accept(body.domain, body.operation, body.path, actor=actor)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    structlog.get_logger().info("ops.noise_accepted", actor=actor, **body.model_dump())
    return {"id": rule.id, "domain": rule.domain, "operation": rule.operation,
            "path": rule.path, "owner": rule.owner, "reason": rule.reason}  # fmt: skip


@router.get("/api/divergences/{signature}/repro", response_class=PlainTextResponse)
async def repro(
    state: State, signature: str, exemplar: Annotated[int, Query(ge=1)] = 1
) -> PlainTextResponse:
    """A group's reproduction as a pytest file (exemplar 1 is the newest)."""
    store = divergence_store(state.require_system())
    try:
        group, found = await store.group(signature), await store.exemplars(signature)
    except KeyError:
        raise HTTPException(404, f"no divergence group {signature!r}") from None
    if exemplar > len(found):
        raise HTTPException(404, f"group {signature} has {len(found)} exemplar(s)")
    name = f"repro_{signature[:12]}.py"
    text = reproduction(exemplar_data(group, found[exemplar - 1]), name)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return PlainTextResponse(text, media_type="text/x-python", headers=disposition)


def _judge(store: Any) -> Any:
    if store.noise is None:
        raise HTTPException(503, "calibration is not available on this system")
    return store.noise
