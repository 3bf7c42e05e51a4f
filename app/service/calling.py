"""The calling service of an HTTP request: ASGI middleware, or a FastAPI dependency.

Either sets ``routing.services``'s context variable while the request is served, so every
persistence call the handler makes (through the router, or the sync facade from a sync
handler, which Starlette runs in a thread with a copy of the context) is counted under it.

- ``app.add_middleware(ServiceMiddleware, service="players_api")``: every request of the
  app; ``routes={"/api/rooms": "rooms_api"}`` picks a name by path prefix (longest first).
- ``Depends(service_dependency("players_api"))``: one route or router.

A router view made with ``for_service`` still wins over both, as it does over
``calling_service``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from routing.services import calling_service, check_service_name

__all__ = ["ServiceMiddleware", "service_dependency"]

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


class ServiceMiddleware:
    """ASGI middleware that serves each HTTP request as one calling service."""

    def __init__(
        self,
        app: ASGIApp,
        service: str | None = None,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        if service is None and not routes:
            raise ValueError("ServiceMiddleware needs a service, routes, or both")
        self.app = app
        self.service = check_service_name(service) if service is not None else None
        ordered = sorted((routes or {}).items(), key=lambda item: len(item[0]), reverse=True)
        self.routes = [(prefix, check_service_name(name)) for prefix, name in ordered]

    def service_for(self, path: str) -> str | None:
        """The service a request to ``path`` is served as."""
        for prefix, name in self.routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return name
        return self.service

    async def __call__(self, scope: Scope, receive: ASGIApp, send: ASGIApp) -> None:
        name = self.service_for(scope.get("path", "")) if scope["type"] == "http" else None
        if name is None:
            await self.app(scope, receive, send)
            return
        with calling_service(name):
            await self.app(scope, receive, send)


def service_dependency(name: str) -> Callable[[], AsyncIterator[str]]:
    """A FastAPI dependency that serves the route as ``name`` (checked now, not per request)."""
    check_service_name(name)

    async def serve_as() -> AsyncIterator[str]:
        with calling_service(name):
            yield name

    serve_as.__name__ = f"serve_as_{name.replace('.', '_').replace('-', '_')}"
    return serve_as
