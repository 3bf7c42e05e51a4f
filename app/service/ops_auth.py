"""The dependency every ops write declares: the actor named by a valid bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from app.service.state import service_state

__all__ = ["Actor", "require_actor"]


def require_actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The token's name, recorded as actor; ``Refused`` (401/403) before anything is read."""
    return service_state(request).tokens.actor_for(authorization)


Actor = Annotated[str, Depends(require_actor)]
