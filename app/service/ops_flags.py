"""The ops API for flags: read them, change one (with a token), read the audit log."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, HTTPException, Query

from app.records import as_dict, jsonable
from app.service.ops_auth import Actor
from app.service.ops_models import FlagChangeOut, FlagChangeRequest, FlagOut
from app.service.problems import problems
from app.service.state import State
from flags.model import FlagProvider, FlagState, override_of

__all__ = ["flag_out", "router"]

router = APIRouter(prefix="/api/flags", tags=["ops: flags"])


def flag_out(state: FlagState, flags: FlagProvider | None = None) -> FlagOut:
    """A flag state as its response body, with the domain's override if ``flags`` has one."""
    data = as_dict(state)
    services = data.get("services")
    data["services"] = sorted(services) if services else None
    override = override_of(flags, data["domain"])
    data["override"] = jsonable(as_dict(override)) if override is not None else None
    return FlagOut.model_validate({k: data.get(k) for k in FlagOut.model_fields})


@router.get("", response_model=list[FlagOut])
async def list_flags(state: State) -> list[FlagOut]:
    """Every domain's flag."""
    flags = state.require_system().flags
    return [flag_out(s, flags) for s in await flags.list()]


@router.get("/history", response_model=list[FlagChangeOut])
async def flag_history(
    state: State,
    domain: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[FlagChangeOut]:
    """The audit log of flag changes, newest first (the guard's rollbacks included)."""
    changes = await state.require_system().flags.history(domain, limit)
    return [FlagChangeOut.model_validate(jsonable(as_dict(c))) for c in changes]


@router.get("/{domain}", response_model=FlagOut)
async def get_flag(state: State, domain: str) -> FlagOut:
    """One domain's flag."""
    flags = state.require_system().flags
    await require_domain(flags, domain)
    return flag_out(await flags.get(domain), flags)


@router.put("/{domain}", response_model=FlagOut, responses=problems(409))
async def set_flag(state: State, domain: str, body: FlagChangeRequest, actor: Actor) -> FlagOut:
    """Change a domain's flag; recorded in the audit log with the token's name as actor.

    A jump past the next mode needs ``force``; the change clears the domain's override.
    """
    flags = state.require_system().flags
    await require_domain(flags, domain)
    new = await flags.set(
        domain, body.mode, percent=body.percent, services=body.services, reason=body.reason,
        actor=actor, forced=body.force,
    )  # fmt: skip
    structlog.get_logger().info(
        "ops.flag_set", domain=domain, mode=body.mode, percent=body.percent, actor=actor
    )
    return flag_out(new, flags)


async def require_domain(flags: FlagProvider, domain: str) -> None:
    """404 for a domain the flag provider does not know."""
    if domain not in {s.domain for s in await flags.list()}:
        raise HTTPException(404, f"no domain {domain!r}")
