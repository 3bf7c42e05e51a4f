"""``make bench``: one run of every benchmark against one fresh, seeded database.

The database is made on ``DUALPATH_BENCH_ADMIN_URL`` (default: the local server on
127.0.0.1:5432) and dropped afterwards. Results go to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import sys
from typing import Any

import psycopg2

from bench import report

ADMIN_URL = os.environ.get(
    "DUALPATH_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Each module has run(url) -> rows, or run() -> rows when it needs no database.
MODULES = [
    "bench.paths",
    "bench.router_overhead",
    "bench.service_attribution",
    "bench.flags_decision",
    "bench.shadow",
    "bench.shadow_steps",
    "bench.calibration",
    "bench.compare",
    "bench.load",
]
NOTES = {
    "calibration cost": (
        "100 % shadowed, 100 in flight, 80 % reads and 20 % writes; one router also "
        "calibrates a share of the shadowed calls (A/A). Six alternating rounds, the ratio "
        "is the median of the per-round ratios. Goal: at 1 %, >= 0.97x of no calibration."
    ),
    "service attribution": (
        "CPU µs per call on an in-memory path (no I/O), a plain router and one with the "
        "attribution wrappers, in alternating batches of 50,000 calls, nine pairs; overhead is "
        "the median of the per-pair differences, ratio the ratio of the medians. Goal: "
        "overhead <= 1 µs per call. Calls are recorded with a deque append of a record made "
        "once per (service, route) and folded into the counts by the writer, off the "
        "caller's path (last row)."
    ),
    "legacy vs async vs raw asyncpg": (
        "Closed loop for 3 s per case after a warm-up. The legacy path runs through a "
        "16-thread pool, as the router calls it; the async path is the repositories' facade; "
        "raw asyncpg runs the same SQL with no model mapping and is the limit."
    ),
}


def _admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _fresh_database() -> str:
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    name = f"dualpath_bench_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    seed_world(url, players=1000, seed=42)
    return url


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark modules and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("modules", nargs="*", default=MODULES, help="bench modules to run")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    url = _fresh_database()
    rows: list[dict[str, Any]] = []
    try:
        for name in args.modules:
            module = importlib.import_module(name)
            print(f"running {name} ...", flush=True)
            rows += module.run(url) if module.run.__code__.co_argcount else module.run()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    path = report.write(rows, notes=NOTES)
    for group in {r["bench"] for r in rows}:
        print(f"\n{group}\n" + report.table([r for r in rows if r["bench"] == group]))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
