"""Who may write through the ops API: bearer tokens, each with the name recorded as actor.

Tokens come from the settings: ``DUALPATH_OPS_TOKEN`` (recorded as ``DUALPATH_OPS_TOKEN_NAME``,
default ``ops``) and ``DUALPATH_OPS_TOKENS``, a comma-separated list of ``name:secret``. A
request without a bearer token is refused with 401, one whose token matches none with 403.
Every secret is compared with ``hmac.compare_digest``, all of them on every request, so the
time taken says nothing about which one came close.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from app.settings import Settings

__all__ = ["OpsToken", "OpsTokens", "Refused", "parse_bearer"]


class Refused(Exception):
    """A write was refused; ``status`` is 401 (no credentials) or 403 (wrong credentials)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class OpsToken:
    """One accepted token and the actor name it stands for."""

    name: str
    secret: bytes


class OpsTokens:
    """The accepted tokens; ``actor_for`` maps an ``Authorization`` header to an actor."""

    def __init__(self, tokens: Iterable[OpsToken]) -> None:
        self._tokens = tuple(tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpsTokens:
        """The tokens configured by ``DUALPATH_OPS_TOKEN[_NAME]`` and ``DUALPATH_OPS_TOKENS``."""
        tokens: list[OpsToken] = []
        if settings.ops_token and settings.ops_token.get_secret_value():
            secret = settings.ops_token.get_secret_value().encode()
            tokens.append(OpsToken(settings.ops_token_name, secret))
        if settings.ops_tokens:
            tokens.extend(parse_token_list(settings.ops_tokens.get_secret_value()))
        return cls(tokens)

    @property
    def configured(self) -> bool:
        """False when no token is configured, so that every write is refused."""
        return bool(self._tokens)

    @property
    def names(self) -> tuple[str, ...]:
        """The actor names, for logs and the status page (never the secrets)."""
        return tuple(token.name for token in self._tokens)

    def actor_for(self, authorization: str | None) -> str:
        """The actor named by a valid ``Bearer`` header, or ``Refused``."""
        presented = parse_bearer(authorization)
        if presented is None:
            raise Refused(401, "missing bearer token: send 'Authorization: Bearer <ops token>'")
        actor = None
        for token in self._tokens:
            if hmac.compare_digest(token.secret, presented) and actor is None:
                actor = token.name
        if actor is None:
            raise Refused(403, "the ops token is not valid")
        return actor


def parse_bearer(authorization: str | None) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None if there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode()


def parse_token_list(text: str) -> list[OpsToken]:
    """``name:secret,name:secret`` as tokens; ``ValueError`` on an entry without both parts."""
    tokens = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, secret = entry.partition(":")
        if not sep or not name.strip() or not secret:
            raise ValueError("DUALPATH_OPS_TOKENS entries must look like name:secret")
        tokens.append(OpsToken(name.strip(), secret.encode()))
    return tokens
