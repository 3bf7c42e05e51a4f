"""The ops API for divergences: list and read groups, then ignore, reopen or fix them."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query

from app.records import jsonable
from app.service.divergence_access import (
    act,
    divergence_store,
    exemplars,
    find_group,
    list_groups,
)
from app.service.ops_auth import Actor
from app.service.ops_models import IgnoreRequest, StatusRequest
from app.service.state import ServiceState, State

__all__ = ["router"]

router = APIRouter(prefix="/api/divergences", tags=["ops: divergences"])
Status = Annotated[str | None, Query(pattern="^(open|ignored|fixed|noise)$")]


@router.get("")
async def get_groups(
    state: State,
    domain: str | None = None,
    kind: str | None = None,
    status: Status = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Divergence groups, most recently seen first, filtered by domain, kind and status."""
    store = divergence_store(state.require_system())
    groups = await list_groups(store, domain=domain, status=status, kind=kind)
    result: list[dict[str, Any]] = jsonable(groups[:limit])
    return result


@router.get("/{signature}")
async def get_group(state: State, signature: str) -> dict[str, Any]:
    """One group, with its exemplars (inputs, both results, the diff, and their context)."""
    store = divergence_store(state.require_system())
    group = await find_group(store, signature)
    result: dict[str, Any] = jsonable({**group, "exemplars": await exemplars(store, signature)})
    return result


@router.post("/{signature}/ignore")
async def ignore(state: State, signature: str, body: IgnoreRequest, actor: Actor) -> dict[str, Any]:
    """Stop counting a group as open (until ``expires_at``, if given)."""
    return await change(state, "ignore", signature, actor, **body.model_dump())


@router.post("/{signature}/reopen")
async def reopen(state: State, signature: str, body: StatusRequest, actor: Actor) -> dict[str, Any]:
    """Open a group again."""
    return await change(state, "reopen", signature, actor, reason=body.reason)


@router.post("/{signature}/fixed")
async def fixed(state: State, signature: str, body: StatusRequest, actor: Actor) -> dict[str, Any]:
    """Mark a group fixed in the running code version; it reopens if the divergence comes back."""
    version = state.require_system().settings.code_version
    return await change(state, "fixed", signature, actor, reason=body.reason, version=version)


async def change(
    state: ServiceState, action: str, signature: str, actor: str, **options: Any
) -> dict[str, Any]:
    """Run the action and return the group as it is now."""
    store = divergence_store(state.require_system())
    await act(store, action, signature, actor, **options)
    structlog.get_logger().info("ops.divergence", action=action, signature=signature, actor=actor)
    result: dict[str, Any] = jsonable(await find_group(store, signature))
    return result
