"""Request and response bodies of the ops API (flags and divergences)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from flags.model import Mode
from flags.validation import SERVICE_MAX, TEXT_MAX, check_printable, check_service_name

ServiceName = Annotated[
    str,
    Field(min_length=1, max_length=SERVICE_MAX, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
    AfterValidator(check_service_name),
]
"""A calling service's name: a printable identifier (``flags.validation``)."""


def _printable(value: str) -> str:
    return check_printable(value, "the text")


Reason = Annotated[
    str, Field(min_length=1, max_length=TEXT_MAX, pattern=r"\S"), AfterValidator(_printable)
]
"""Why a change is made, for the audit log: bounded, no control character."""


class Body(BaseModel):
    """Base of every ops request: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class FlagChangeRequest(Body):
    """A new flag for one domain; ``reason`` goes to the audit log with the token's name."""

    mode: Mode
    percent: int = Field(default=100, ge=0, le=100)
    services: list[ServiceName] | None = Field(default=None, min_length=1)
    reason: Reason
    force: bool = False


class OverrideOut(BaseModel):
    """A local override capping a domain's mode (the guard's rollback) until the next set."""

    mode: Mode
    reason: str
    actor: str
    created_at: datetime
    extra: dict[str, Any] = Field(default_factory=dict)


class FlagOut(BaseModel):
    """One domain's flag."""

    domain: str
    mode: Mode
    percent: int
    services: list[str] | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    reason: str | None = None
    override: OverrideOut | None = None


class FlagChangeOut(BaseModel):
    """One row of the flag audit log."""

    id: int
    domain: str
    previous_mode: Mode | None = None
    mode: Mode
    percent: int
    services: list[str] | None = None
    reason: str
    actor: str
    changed_at: datetime
    forced: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)


class IgnoreRequest(Body):
    """Ignore a divergence group, until ``expires_at`` if given."""

    reason: Reason
    expires_at: datetime | None = None


class StatusRequest(Body):
    """Reopen a divergence group or mark it fixed."""

    reason: Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(_printable)] = ""
