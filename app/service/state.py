"""What every request handler reaches through ``request.app.state.service``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request

from app.service.auth import OpsTokens
from app.service.metrics import ServiceMetrics

if TYPE_CHECKING:
    from app.bootstrap import System
    from routing.router import PersistenceRouter

__all__ = ["SERVICE_NAME", "ServiceState", "State", "service_state"]

SERVICE_NAME = "api"


@dataclass
class ServiceState:
    """The running system, the ops tokens, the metrics, and a small pool for the service's SQL.

    ``system`` is None until the lifespan of a standalone app has opened it.
    """

    tokens: OpsTokens
    metrics: ServiceMetrics
    system: System | None = None
    _pool: asyncpg.Pool | None = None
    _router: PersistenceRouter | None = None
    _router_of: System | None = None
    _pool_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def require_system(self) -> System:
        """The open system, or 503 while it is starting or stopped."""
        if self.system is None:
            raise HTTPException(503, "the persistence system is not open")
        return self.system

    def router(self) -> PersistenceRouter:
        """The router's view for requests of the game API (service name ``SERVICE_NAME``)."""
        system = self.require_system()
        if self._router is None or self._router_of is not system:
            self._router = system.router.for_service(SERVICE_NAME)
            self._router_of = system
        return self._router

    async def pool(self) -> asyncpg.Pool:
        """A pool of at most 4 connections for the few queries the service runs itself."""
        async with self._pool_lock:
            if self._pool is None:
                url = self.require_system().database_url
                self._pool = await asyncpg.create_pool(url, min_size=0, max_size=4, timeout=5)
            return self._pool

    async def close(self) -> None:
        """Close the service's own pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def service_state(request: Request) -> ServiceState:
    """The ``ServiceState`` of the app serving ``request``."""
    state: ServiceState = request.app.state.service
    return state


#: A request handler's parameter for the service state.
State = Annotated[ServiceState, Depends(service_state)]
