"""What one flag decision costs: ``mode_for(domain, key, service)`` per provider, in µs.

Each provider answers from its compiled decision table: the environment provider from a
``DUALPATH_FLAGS`` string, the PostgreSQL store after loading the table from the database,
and the Unleash provider from a bootstrap payload with no server. Each case is 10,000
distinct keys per batch, 15 batches; the figure is the median batch's time per call. For
scale, the Unleash SDK's own per-call ``get_variant`` is measured once (it is not used).

Standalone: ``python -m bench.flags_decision [postgresql://...]`` (without a URL, a
database is made on the local server and dropped afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2

from flags.environment import EnvironmentFlags
from flags.model import FlagState, Mode
from flags.postgres import PostgresFlagStore
from flags.unleash import UnleashFlags
from flags.unleash_admin import strategy_body

BENCH = "flag decision"
GOAL = "<= 5 us"
DOMAINS = ("player", "room", "profession", "health", "experience", "container", "item")
KEYS = [f"player-{i}" for i in range(10_000)]
BATCHES = 15
NOWHERE = "http://127.0.0.1:9/api"
ADMIN_URL = os.environ.get(
    "DUALPATH_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
Decide = Callable[[str, str | None, str | None], Mode]


def per_call_us(
    decide: Decide, domain: str = "player", keys: list[str] = KEYS, batches: int = BATCHES
) -> float:
    """Median over batches of the time per ``decide(domain, key, "api")`` call, in µs."""
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for key in keys:
            decide(domain, key, "api")
        samples.append((time.perf_counter() - started) / len(keys) * 1e6)
    return statistics.median(samples)


def unleash_payload(percent: int) -> dict[str, Any]:
    """A client-features payload with ``dualpath.player`` in ``shadow`` at ``percent``."""
    feature = {
        "name": "dualpath.player",
        "enabled": True,
        "strategies": [strategy_body(FlagState("player", "shadow", percent))],
    }
    return {"version": 2, "features": [feature]}


async def postgres_store(url: str, percent: int) -> tuple[PostgresFlagStore, str]:
    """A store whose table was loaded from the database, and its domain at ``percent``.

    The domain has a name of its own, so the bench never changes a flag anything else reads.
    """
    domain = f"player_bench_{secrets.token_hex(3)}"
    domains = [*DOMAINS, domain]
    await PostgresFlagStore(url, domains).set(
        domain, "shadow", percent=percent, reason="bench", actor="bench"
    )
    store = PostgresFlagStore(url, domains)
    await store.start()
    await store.close()
    return store, domain


def sdk_get_variant_us() -> float:
    """The Unleash SDK's own per-call evaluation, for scale."""
    from UnleashClient import UnleashClient
    from UnleashClient.utils import InstanceAllowType

    from flags.unleash import FeatureCache

    cache = FeatureCache(lambda _raw: None)
    cache.bootstrap_from_dict(unleash_payload(25))
    sdk = UnleashClient(
        url=NOWHERE,
        app_name="bench",
        cache=cache,
        disable_metrics=True,
        disable_registration=True,
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )

    def decide(domain: str, key: str | None, service: str | None) -> Mode:
        context = {"userId": key, "properties": {"service": service}}
        return sdk.get_variant(f"dualpath.{domain}", context)["name"]

    return per_call_us(decide, keys=KEYS[:2000], batches=5)


def row(case: str, median_us: float, goal: str = GOAL) -> dict[str, Any]:
    """One result row."""
    return {"bench": BENCH, "case": case, "median_us": round(median_us, 3), "goal": goal}


def run(url: str | None = None) -> list[dict[str, Any]]:
    """Measure every provider at 100 % and 25 %; makes a database if ``url`` is None."""
    if url is None:
        with _scratch_database() as scratch:
            return run(scratch)
    rows = []
    for percent in (100, 25):
        env = EnvironmentFlags(f"player=shadow:{percent}", DOMAINS)
        rows.append(row(f"environment {percent}%", per_call_us(env.mode_for)))
        store, domain = asyncio.run(postgres_store(url, percent))
        rows.append(row(f"postgres {percent}%", per_call_us(store.mode_for, domain)))
        unleash = UnleashFlags(NOWHERE, DOMAINS, bootstrap=unleash_payload(percent))
        rows.append(row(f"unleash {percent}%", per_call_us(unleash.mode_for)))
    rows.append(row("Unleash SDK get_variant 25% (not used)", sdk_get_variant_us(), "for scale"))
    return rows


@contextlib.contextmanager
def _scratch_database() -> Iterator[str]:
    """A migrated database on the local server for a standalone run, dropped on exit."""
    from persistence.migrate import upgrade

    name = f"dualpath_bench_flags_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def main(argv: list[str]) -> int:
    """Print the results as a table."""
    from app.logs import configure_logging

    configure_logging("console", stream=sys.stderr)
    rows = run(argv[0] if argv else None)
    print(f"{'case':<40} {'median us':>10}  goal")
    for r in rows:
        print(f"{r['case']:<40} {r['median_us']:>10.3f}  {r['goal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
