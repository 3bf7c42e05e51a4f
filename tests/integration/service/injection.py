"""Divergences made on purpose, through the real shadow engine or straight into its tables."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

PLAYER_READ = "get_player_by_id"


def attach_shadow(system: Any) -> Any:
    """The system's shadow engine; one built here if the composition root has none yet."""
    if getattr(system, "divergences", None) is not None:
        return system
    from prometheus_client import CollectorRegistry

    from shadow.system import Shadow

    registry = CollectorRegistry()
    shadow = Shadow(system.database_url, registry=registry)
    shadow.start()
    system.shadow, system.divergences, system.metrics_registry = (
        shadow,
        shadow.divergences,
        registry,
    )
    return system


def player_snapshot(hp: int, name: str = "Wilbur") -> dict[str, Any]:
    """A player as a path might return it, with ``hp`` as its current health."""
    return {"name": name, "level": 2, "stats": {"current_health": hp, "max_health": 100}}


def diverge(system: Any, player_id: str, primary_hp: int = 90, shadow_hp: int = 85) -> Any:
    """One shadowed read whose two paths disagree on ``stats.current_health``."""
    from shadow.observation import Observation

    operation = system.router.registry.get(PLAYER_READ)
    system.shadow.coverage.served(operation.domain, operation.name)  # as the runner counts it
    primary = Observation("legacy", player_snapshot(primary_hp), None, 0.0012)
    shadow = Observation("async", player_snapshot(shadow_hp), None, 0.0009)
    return system.shadow.engine.observe(
        operation, primary, shadow, mode="shadow", inputs={"player_id": player_id}
    )


GROUP_COLUMNS = (
    "signature, domain, operation, kind, diff_paths, count, first_seen, last_seen, status"
)
KINDS = ("result_mismatch", "error_mismatch", "effect_mismatch", "event_mismatch")


async def insert_groups(conn: Any, domains: list[str], count: int, seed: int = 1) -> None:
    """``count`` divergence groups spread over ``domains`` and the last hour."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        seen = now - timedelta(seconds=rng.randint(0, 3600))
        rows.append(
            (
                f"bulk{seed:04d}{i:024d}",
                rng.choice(domains),
                f"operation_{i % 17}",
                rng.choice(KINDS),
                [f"root['field_{i % 23}']"],
                rng.randint(1, 5000),
                seen - timedelta(hours=1),
                seen,
                rng.choice(("open", "open", "ignored", "fixed")),
            )
        )
    await conn.copy_records_to_table(
        "divergence_groups", records=rows, columns=[c.strip() for c in GROUP_COLUMNS.split(",")]
    )
