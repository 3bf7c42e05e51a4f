"""The FastAPI app: the game API, the ops API, the dashboard, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.service import (
    dashboard,
    dashboard_services,
    game_legacy,
    game_players,
    game_world,
    health,
    ops_calibration,
    ops_divergences,
    ops_flags,
    ops_services,
    readiness,
)
from app.service.auth import OpsTokens
from app.service.errors import install_error_handlers
from app.service.metrics import ServiceMetrics
from app.service.problems import document_problems
from app.service.state import ServiceState
from app.service.surrogates import refuse_surrogates
from app.settings import Settings
from dashboards import STATIC_DIR

if TYPE_CHECKING:
    from app.bootstrap import System

__all__ = ["create_app"]

DESCRIPTION = """
The game API (players, rooms, professions, containers, items) served through dualpath's
router, the ops API (flags and divergences; writes need `Authorization: Bearer <ops token>`),
the on-call dashboard at `/dashboard`, `/healthz` and `/metrics`.
"""


def create_app(system: System | None = None, settings: Settings | None = None) -> FastAPI:
    """The app over ``system``; without one, its lifespan opens a system from ``settings``."""
    settings = settings or (system.settings if system is not None else Settings())
    state = ServiceState(OpsTokens.from_settings(settings), ServiceMetrics(), system)
    app = FastAPI(
        title="dualpath",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=_lifespan(state, settings, owns_system=system is None),
        dependencies=[Depends(refuse_surrogates)],
    )
    app.state.service = state
    app.middleware("http")(state.metrics.middleware)
    install_error_handlers(app)
    app.include_router(ops_calibration.router)  # before /api/divergences/{signature}
    document_problems(app)
    for module in (game_players, game_legacy, game_world, ops_flags, ops_divergences, health):
        app.include_router(module.router)
    app.include_router(readiness.router)
    app.include_router(ops_services.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard_services.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/", _home, include_in_schema=False)
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    return app


async def _home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


async def _favicon() -> FileResponse:
    """The dashboard's icon, for browsers that ask /favicon.ico whatever the page says."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


def _lifespan(
    state: ServiceState, settings: Settings, *, owns_system: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(state.close)
            if owns_system:
                from app.bootstrap import open_system

                state.system = await stack.enter_async_context(open_system(settings))
                stack.callback(setattr, state, "system", None)
            if not state.tokens.configured:
                structlog.get_logger().warning("ops.no_token", detail="every ops write is refused")
            structlog.get_logger().info("service.started", actors=list(state.tokens.names))
            yield

    return lifespan
