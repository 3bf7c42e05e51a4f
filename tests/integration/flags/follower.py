"""A second OS process for the cross-process test: follows the flags of one PostgreSQL database.

Usage: ``python follower.py <database_url> <watched_domain> <own_domain>``. It prints
``ready``, waits until ``<watched_domain>`` runs ``live``, prints ``seen <seconds>``, then sets
``<own_domain>`` to ``shadow`` itself, prints ``set``, and exits.
"""

from __future__ import annotations

import asyncio
import sys
import time

from app.logs import configure_logging
from flags.postgres import PostgresFlagStore


async def main(url: str, watched: str, own: str) -> None:
    store = PostgresFlagStore(url, [watched, own], reload_interval=60)
    await store.start()
    print("ready", flush=True)
    while store.mode_for(watched, None, None) != "live":  # noqa: ASYNC110 - polling is the test
        await asyncio.sleep(0.005)
    print(f"seen {time.time():.6f}", flush=True)
    await store.set(own, "shadow", reason="cross-process test", actor="follower")
    print("set", flush=True)
    await store.close()


if __name__ == "__main__":
    # stdout carries the protocol above; logs go to stderr.
    configure_logging("console", stream=sys.stderr)
    asyncio.run(main(*sys.argv[1:4]))
