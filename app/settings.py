"""One validated settings object, read from the environment when asked for, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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
    # The service (``dualpath serve``): where it listens and who may write through its ops API.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    ops_token: SecretStr | None = None
    ops_token_name: str = Field(default="ops", min_length=1, max_length=64)
    ops_tokens: SecretStr | None = None  # more tokens: "name:secret,name:secret"

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value or None
