"""``/healthz`` (database, flag provider, divergence queue) and ``/metrics`` (Prometheus).

The database check names the database it checks by its URL, with the password masked.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from app.records import jsonable
from app.service.problems import problem_response
from app.service.state import ServiceState, State
from flags.model import FlagProvider
from observability import mask_secrets

if TYPE_CHECKING:
    from app.bootstrap import System

__all__ = ["router"]

router = APIRouter(tags=["health"])


class HealthBody(BaseModel):
    """A healthy service's answer: each check with what it found."""

    status: Literal["ok"]
    checks: dict[str, dict[str, Any]]


@router.get("/healthz", response_model=None, responses={200: {"model": HealthBody}})
async def healthz(state: State) -> JSONResponse:
    """200 when the database answers; the flag provider and divergence queue are reported.

    503 otherwise: a problem whose ``checks`` says which check failed.
    """
    system = state.require_system()
    checks = {
        "database": {**await database_check(state), "url": mask_secrets(system.database_url)},
        "flags": flags_check(system.flags),
        "divergence_queue": await queue_check(system),
    }
    if not checks["database"]["ok"]:
        detail = "the database does not answer"
        return problem_response(503, detail, extensions={"checks": jsonable(checks)})
    return JSONResponse(jsonable({"status": "ok", "checks": checks}))


class DatabaseCheck(TypedDict):
    """Whether the database answered, and the error class if not."""

    ok: bool
    error: NotRequired[str]


class FlagsCheck(TypedDict):
    """The flag provider's name, and whether it follows its source."""

    provider: str
    ok: bool


class QueueCheck(TypedDict):
    """The divergence store's queue."""

    ok: bool
    depth: int
    capacity: int
    dropped: int


async def database_check(state: ServiceState) -> DatabaseCheck:
    """Whether ``SELECT 1`` answers within two seconds."""
    try:
        pool = await state.pool()
        async with asyncio.timeout(2):
            await pool.fetchval("SELECT 1")
    except Exception as exc:  # any failure is the answer to the check, not an error
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def flags_check(flags: FlagProvider) -> FlagsCheck:
    """The provider's name and whether it is following its source."""
    return {"provider": flags.name, "ok": flags.available}


async def queue_check(system: System) -> QueueCheck:
    """The shadow engine's store queue: depth, capacity and divergences dropped."""
    store = system.shadow.store
    depth, capacity = len(store), store.config.max_queue
    return {"ok": depth < capacity, "depth": depth, "capacity": capacity, "dropped": store.dropped}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(state: State) -> Response:
    """Prometheus exposition: the service's metrics and the shadow engine's."""
    system = state.require_system()
    state.metrics.observe_flags(await system.flags.list())
    body = state.metrics.render([system.metrics_registry])
    return Response(body, media_type=CONTENT_TYPE_LATEST)
