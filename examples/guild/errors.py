"""The guild's refusals: both paths raise these same classes."""

from __future__ import annotations


class GuildError(Exception):
    """Base of the guild's own errors."""


class GuildNotFound(GuildError):
    """No guild has this id."""


class InvalidAmount(GuildError):
    """A deposit must be a positive whole number of gold."""
