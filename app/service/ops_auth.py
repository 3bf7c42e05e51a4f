"""The dependency every ops write declares: the actor named by a valid bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.service.state import service_state

__all__ = ["Actor", "require_actor"]

# Declares the bearer token in the OpenAPI document; the header is checked below, as sent.
BEARER = HTTPBearer(auto_error=False, description="An ops token (DUALPATH_OPS_TOKEN).")


def require_actor(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> str:
    """The token's name, recorded as actor; ``Refused`` (401/403) before anything is read."""
    return service_state(request).tokens.actor_for(request.headers.get("authorization"))


Actor = Annotated[str, Depends(require_actor)]
