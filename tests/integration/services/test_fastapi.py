"""A FastAPI app names its calling service with the middleware or a dependency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from app.service.calling import ServiceMiddleware, service_dependency
from routing.services import InvalidServiceName
from tests.integration.services.conftest import stored_calls
from tests.integration.services.test_attribution import delta

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


def game_app(system: Any) -> FastAPI:
    """A small game API: rooms by middleware prefix, players by dependency, a sync handler."""
    app = FastAPI()
    app.add_middleware(ServiceMiddleware, routes={"/rooms": "player_position_service"})
    players = APIRouter(dependencies=[Depends(service_dependency("user_manager"))])

    @app.get("/rooms/{room_id}")
    async def room(room_id: str) -> dict[str, Any]:
        found = await system.router.get_room_by_id(room_id)
        return {"room_id": found.room_id}

    @players.get("/players/{player_id}")
    async def player(player_id: str) -> dict[str, Any]:
        found = await system.router.get_player_by_id(player_id)
        return {"name": found.name}

    @players.get("/sync/players/{player_id}")
    def player_sync(player_id: str) -> dict[str, Any]:  # Starlette runs it in a thread
        return {"name": system.sync.get_player(player_id).name}

    @app.get("/anonymous/{player_id}")
    async def anonymous(player_id: str) -> dict[str, Any]:
        return {"name": (await system.router.get_player_by_id(player_id)).name}

    app.include_router(players)
    return app


class TestRequestsNameTheirService:
    """Middleware by path prefix, a dependency on a router (async and sync handlers)."""

    async def test_counted_under_the_route_service(
        self, system: Any, services_database: str
    ) -> None:
        player = (await system.router.list_players(limit=1))[0]
        pid = str(player.player_id)
        await system.attribution.flush()
        before_p = stored_calls(services_database, "player", "get_player_by_id")
        before_r = stored_calls(services_database, "room", "get_room_by_id")
        transport = httpx.ASGITransport(app=game_app(system))
        async with httpx.AsyncClient(transport=transport, base_url="http://game") as http:
            for path in (f"/rooms/{player.current_room_id}", f"/players/{pid}",
                         f"/sync/players/{pid}", f"/anonymous/{pid}"):  # fmt: skip
                response = await http.get(path)
                assert response.status_code == 200, response.text
        await system.attribution.flush()
        players = delta(before_p, stored_calls(services_database, "player", "get_player_by_id"))
        rooms = delta(before_r, stored_calls(services_database, "room", "get_room_by_id"))
        assert {s: f[0] for s, f in rooms.items()} == {"player_position_service": 1}
        assert {s: f[0] for s, f in players.items()} == {"user_manager": 2, "unattributed": 1}

    async def test_bad_names_are_refused_up_front(self) -> None:
        with pytest.raises(InvalidServiceName):
            service_dependency("Not A Name")
        with pytest.raises(InvalidServiceName):
            ServiceMiddleware(FastAPI(), service="unattributed")
        with pytest.raises(ValueError, match="needs a service"):
            ServiceMiddleware(FastAPI())
