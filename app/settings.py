"""One validated settings object, read from the environment when asked for, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """dualpath's configuration: ``DATABASE_URL`` and the ``DUALPATH_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DUALPATH_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = PROJECT_DIR / ".dualpath"
    flag_provider: str = "postgres"
    flags: str = ""
    legacy_pool_size: int = Field(default=10, ge=1, le=200)
    legacy_threads: int = Field(default=16, ge=1, le=512)
    async_pool_size: int = Field(default=10, ge=1, le=200)
    default_start_room: str | None = None

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value or None
