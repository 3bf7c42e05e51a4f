"""The game API for players, served through the router (service name ``api``).

Every endpoint here is ``async`` and awaits the router. ``/api/legacy/...`` are plain ``def``
endpoints, run by FastAPI in its threadpool, that call ``get_persistence()`` as the legacy
game code does: the sync facade, routed by the same flags.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Query, Response

from app.service.accounts import create_account, delete_account
from app.service.game_models import (
    XP,
    Damage,
    Experience,
    Heal,
    Health,
    NewPlayer,
    PlayerBody,
    StatChange,
    StatValue,
)
from app.service.problems import field_error, problems
from app.service.state import ServiceState, State
from persistence.models import Player, Stats

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["players"])


async def load_player(state: ServiceState, player_id: UUID) -> Player:
    """The player, or 404."""
    player = await state.router().get_player_by_id(player_id)
    if player is None:
        raise HTTPException(404, f"no player {player_id}")
    return player


@router.get("/players", response_model=list[PlayerBody])
async def list_players(
    state: State,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Player]:
    """Players by name, a page at a time."""
    players: list[Player] = await state.router().list_players(limit=limit, offset=offset)
    return players


@router.get("/players/by-name/{name}", response_model=PlayerBody)
async def get_player_by_name(state: State, name: str) -> Player:
    """A player by name (case-insensitive)."""
    player = await state.router().get_player_by_name(name)
    if player is None:
        raise HTTPException(404, f"no player named {name!r}")
    return player


@router.get("/players/{player_id}", response_model=PlayerBody)
async def get_player(state: State, player_id: UUID) -> Player:
    """A player by id."""
    return await load_player(state, player_id)


@router.post("/players", response_model=PlayerBody, status_code=201, responses=problems(409))
async def create_player(state: State, body: NewPlayer) -> Player:
    """Create an account and its player in an existing room, with an existing profession."""
    await check_new_player(state, body)
    pool = await state.pool()
    user_id = await create_account(pool, body.name)
    player = Player(
        player_id=uuid4(),
        user_id=user_id,
        name=body.name,
        current_room_id=body.current_room_id,
        profession_id=body.profession_id,
        stats=Stats(**body.stats.model_dump()),
    )
    try:
        await state.router().save_player(player)
    except BaseException:
        await delete_account(pool, user_id)
        raise
    return await load_player(state, player.player_id)


async def check_new_player(state: ServiceState, body: NewPlayer) -> None:
    """422 for an unknown room or profession, 409 for a name already taken."""
    router_ = state.router()
    if await router_.get_room_by_id(body.current_room_id) is None:
        raise field_error("body", "current_room_id", f"no room {body.current_room_id!r}")
    if await router_.get_profession_by_id(body.profession_id) is None:
        raise field_error("body", "profession_id", f"no profession {body.profession_id}")
    if await router_.get_player_by_name(body.name) is not None:
        raise HTTPException(409, f"the name {body.name!r} is taken")


@router.put("/players/{player_id}", response_model=PlayerBody)
async def save_player(state: State, player_id: UUID, body: PlayerBody) -> Player:
    """Save a whole player (insert or update); the id in the path must match the body."""
    if body.player_id != player_id:
        raise field_error("body", "player_id", "player_id in the body does not match the path")
    data: dict[str, Any] = body.model_dump()
    data["stats"] = Stats(**data["stats"])
    await state.router().save_player(Player(**data))
    return await load_player(state, player_id)


@router.delete("/players/{player_id}", status_code=204)
async def delete_player(state: State, player_id: UUID) -> Response:
    """Delete a player; 404 if there is none."""
    await state.router().delete_player(player_id)
    return Response(status_code=204)


@router.get("/rooms/{room_id}/players", response_model=list[PlayerBody])
async def players_in_room(state: State, room_id: str) -> list[Player]:
    """The players in a room."""
    players: list[Player] = await state.router().get_players_in_room(room_id)
    return players


@router.post("/players/{player_id}/damage", response_model=Health)
async def damage(state: State, player_id: UUID, body: Damage) -> Health:
    """Deal damage; health never falls below -10 (dead)."""
    player = await load_player(state, player_id)
    hp = await state.router().damage_player(player, body.amount, body.damage_type)
    return Health(player_id=player_id, current_health=hp)


@router.post("/players/{player_id}/heal", response_model=Health)
async def heal(state: State, player_id: UUID, body: Heal) -> Health:
    """Heal; health never exceeds the maximum."""
    player = await load_player(state, player_id)
    hp = await state.router().heal_player(player, body.amount)
    return Health(player_id=player_id, current_health=hp)


@router.post("/players/{player_id}/experience", response_model=XP)
async def gain_experience(state: State, player_id: UUID, body: Experience) -> XP:
    """Grant experience; the level follows."""
    player = await load_player(state, player_id)
    xp = await state.router().gain_experience(player, body.amount, body.source)
    return XP(player_id=player_id, experience_points=xp)


@router.post("/players/{player_id}/stats/{field}", response_model=StatValue)
async def change_stat(state: State, player_id: UUID, field: str, body: StatChange) -> StatValue:
    """Change one whitelisted stat by ``delta``, clamped to its bounds."""
    value = await state.router().update_player_stat_field(player_id, field, body.delta, body.reason)
    return StatValue(player_id=player_id, field=field, value=value)
