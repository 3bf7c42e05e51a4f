"""One validated settings object, read from the environment when asked for, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.guard_rules import Thresholds
from app.readiness import ReadinessRules
from routing.paths import LEGACY_THREADS
from routing.shadowing.config import DEFAULTS as RUNNER

_GUARD = Thresholds()  # the guard's defaults, stated once in app/guard_rules.py
_READINESS = ReadinessRules()  # readiness' defaults, stated once in app/readiness.py

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """dualpath's configuration: ``DATABASE_URL`` and the ``DUALPATH_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DUALPATH_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = PROJECT_DIR / ".dualpath"
    flag_provider: str = "postgres"
    flags: str = ""
    # What is routed: "module:attribute" of a routing.declarations.Declarations; "": the MUD's.
    declarations: str = ""
    legacy_pool_size: int = Field(default=10, ge=1, le=200)
    legacy_threads: int = Field(default=LEGACY_THREADS, ge=1, le=512)
    async_pool_size: int = Field(default=10, ge=1, le=200)
    default_start_room: str | None = None
    # Unleash, when DUALPATH_FLAG_PROVIDER=unleash.
    unleash_url: str = "http://127.0.0.1:4242/api"
    unleash_client_token: SecretStr | None = None
    unleash_admin_token: SecretStr | None = None
    unleash_app_name: str = "dualpath"
    unleash_environment: str = "development"
    unleash_refresh_interval: int = Field(default=1, ge=1, le=60)
    unleash_bootstrap_file: Path | None = None
    # The shadow engine.
    # The shadow runner: its defaults are stated once, in routing.shadowing.config.
    shadow_timeout_s: float = Field(default=RUNNER.shadow_timeout_s, gt=0, le=60)
    shadow_write_hold_ms: int = Field(default=RUNNER.write_hold_ms, ge=1, le=60_000)
    raise_on_divergence: bool = RUNNER.raise_on_divergence
    redact_fields: str = "email,password_hash"
    exemplars_per_group: int = Field(default=5, ge=1, le=100)
    divergence_queue: int = Field(default=10_000, ge=1)
    code_version: str = "dev"
    # A/A calibration (routing/shadowing/calibration.py): the percent of shadowed calls whose
    # primary path also runs again as a second shadow, and per-domain percents over it.
    calibration_percent: float = Field(default=1.0, ge=0, le=100)
    calibration_domains: str = ""  # "player=5,health=0"
    # An operation with fewer A/A runs than this is calibrated on every shadowed call.
    calibration_warmup: int = Field(default=40, ge=0, le=100_000)
    # The service (``dualpath serve``): where it listens and who may write through its ops API.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    ops_token: SecretStr | None = None
    ops_token_name: str = Field(default="ops", min_length=1, max_length=64)
    ops_tokens: SecretStr | None = None  # more tokens: "name:secret,name:secret"
    # The guard (app/guard.py, rules in app/guard_rules.py, design in docs/rollout.md).
    guard_enabled: bool = True
    guard_dry_run: bool = _GUARD.dry_run  # judge and record, change nothing
    guard_enforce_latency: bool = _GUARD.enforce_latency  # latency and tail rules act
    guard_max_divergence_rate: float = Field(default=_GUARD.max_divergence_rate, gt=0, le=1)
    guard_max_error_rate: float = Field(default=_GUARD.max_error_rate, gt=0, le=1)
    guard_max_latency_ratio: float = Field(default=_GUARD.max_latency_ratio, gt=0)
    guard_max_tail_ratio: float = Field(default=_GUARD.max_tail_ratio, gt=0)
    guard_catastrophe_error_rate: float = Field(default=_GUARD.catastrophe_error_rate, gt=0, le=1)
    guard_catastrophe_min_calls: int = Field(default=_GUARD.catastrophe_min_calls, ge=1)
    guard_min_tail_pairs: int = Field(default=_GUARD.min_tail_pairs, ge=1)
    guard_min_exceedances: int = Field(default=_GUARD.min_exceedances, ge=1)
    guard_latency_pairs: int = Field(default=_GUARD.latency_pairs, ge=10, le=5000)
    guard_alpha: float = Field(default=_GUARD.alpha, gt=0, lt=1)
    guard_failure_limit: int = Field(default=_GUARD.failure_limit, ge=1, le=600)
    guard_window_s: float = Field(default=_GUARD.window_s, gt=0, le=3600)
    guard_short_window_s: float = Field(default=_GUARD.short_window_s, gt=0, le=3600)
    guard_fast_window_s: float = Field(default=_GUARD.fast_window_s, gt=0, le=60)
    guard_max_loop_lag_ms: float = Field(default=_GUARD.max_loop_lag_ms, gt=0, le=60_000)
    guard_interval_s: float = Field(default=1.0, gt=0, le=60)
    guard_calls_per_second: int = Field(default=500, ge=1, le=100_000)
    guard_record: bool = True  # keep the judged calls in PostgreSQL for replay
    guard_record_hours: float = Field(default=25.0, gt=0, le=24 * 31)
    guard_overrides: str = ""  # JSON: {"health": {"max_error_rate": 0.1, "dry_run": true}}
    # Freed heap memory given back to the system this often (app/heap.py); 0 turns it off.
    heap_trim_interval_s: float = Field(default=5.0, ge=0, le=3600)
    # Rollout per service (app/attribution.py): the calling services counted by name.
    services: str = ""  # "combat_service,user_manager": always counted, exported from zero
    service_cap: int = Field(default=50, ge=0, le=10_000)  # names first seen, beyond configured
    service_flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    # Readiness (app/readiness.py): what a domain needs before its next step.
    readiness_min_minutes: float = Field(default=30.0, ge=0)
    # The divergence rate every operation that ran must be shown to be below, and how sure.
    readiness_target_rate: float = Field(default=0.001, gt=0, lt=1)
    readiness_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    # the async error rate readiness bounds; the guard's own floor is guard_max_error_rate
    readiness_max_error_rate: float = Field(default=_READINESS.max_error_rate, gt=0, le=1)

    def unleash_options(self) -> dict[str, Any]:
        """Keyword arguments for ``flags.unleash.UnleashFlags``."""
        return {
            "url": self.unleash_url,
            "client_token": _secret(self.unleash_client_token),
            "admin_token": _secret(self.unleash_admin_token),
            "app_name": self.unleash_app_name,
            "environment": self.unleash_environment,
            "refresh_interval": self.unleash_refresh_interval,
            "bootstrap_file": self.unleash_bootstrap_file,
        }

    @property
    def redacted(self) -> frozenset[str]:
        """Field names redacted before divergences are stored or logged."""
        return frozenset(f.strip() for f in self.redact_fields.split(",") if f.strip())

    @field_validator("guard_overrides")
    @classmethod
    def _valid_guard_overrides(cls, value: str) -> str:
        from app.guard import parse_threshold_overrides

        parse_threshold_overrides(value)
        return value

    @property
    def calibration_by_domain(self) -> dict[str, float]:
        """The per-domain calibration percents (``DUALPATH_CALIBRATION_DOMAINS``)."""
        return parse_calibration_domains(self.calibration_domains)

    @field_validator("calibration_domains")
    @classmethod
    def _valid_calibration_domains(cls, value: str) -> str:
        parse_calibration_domains(value)
        return value

    @property
    def service_names(self) -> tuple[str, ...]:
        """The configured calling services (``DUALPATH_SERVICES``), in order."""
        return tuple(name.strip() for name in self.services.split(",") if name.strip())

    @field_validator("services")
    @classmethod
    def _valid_services(cls, value: str) -> str:
        from routing.services import check_service_name

        for name in value.split(","):
            if name.strip():
                check_service_name(name.strip())
        return value

    @field_validator("flag_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in ("postgres", "unleash", "environment"):
            raise ValueError("flag_provider must be postgres, unleash or environment")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value or None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def parse_calibration_domains(text: str) -> dict[str, float]:
    """``"player=5,health=0"`` as ``{"player": 5.0, "health": 0.0}``; ``ValueError`` if bad."""
    found: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        domain, sep, percent = part.partition("=")
        try:
            value = float(percent)
        except ValueError:
            value = -1.0
        if not sep or not domain.strip() or not 0 <= value <= 100:
            raise ValueError(f"calibration_domains: {part!r} is not domain=percent (0-100)")
        found[domain.strip()] = value
    return found
