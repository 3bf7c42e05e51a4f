"""The legacy code path: plain ``def`` endpoints that call ``get_persistence()``.

FastAPI runs these in its threadpool, as the game server's synchronous handlers run; the
sync facade routes each call by the same flags as the async router.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException

from app.service.game_models import Damage, Health, PlayerBody
from app.service.state import ServiceState, State
from persistence.api import SyncPersistence
from persistence.models import Player

__all__ = ["router"]

router = APIRouter(prefix="/api/legacy", tags=["legacy"])


def legacy_persistence(state: ServiceState) -> SyncPersistence:
    """What the legacy game code gets from ``persistence.get_persistence()``."""
    state.require_system()
    from persistence.legacy import get_persistence

    return get_persistence()


def load_player(state: ServiceState, player_id: UUID) -> Player:
    """The player through the sync facade, or 404."""
    player: Player | None = legacy_persistence(state).get_player(player_id)
    if player is None:
        raise HTTPException(404, f"no player {player_id}")
    return player


@router.get("/players/{player_id}", response_model=PlayerBody)
def get_player(state: State, player_id: UUID) -> Player:
    """A player by id, read the legacy way (sync, in a worker thread)."""
    return load_player(state, player_id)


@router.post("/players/{player_id}/damage", response_model=Health)
def damage(state: State, player_id: UUID, body: Damage) -> Health:
    """Deal damage the legacy way (sync, in a worker thread)."""
    persistence = legacy_persistence(state)
    player = load_player(state, player_id)
    hp = persistence.damage_player(player, body.amount, body.damage_type)
    return Health(player_id=player_id, current_health=hp)
