"""A second dualpath process for the guard tests: its own open_system on the same database.

Usage: ``python follower.py <database_url> <domain> <mode_before> <mode_after>``. It prints
``ready`` once ``<domain>`` runs ``<mode_before>`` here, then ``seen <epoch seconds>`` as soon
as it runs ``<mode_after>``, and exits.
"""

from __future__ import annotations

import asyncio
import sys
import time

from app.logs import configure_logging


async def main(url: str, domain: str, before: str, after: str) -> None:
    from app.bootstrap import open_system
    from app.settings import Settings

    settings = Settings(DATABASE_URL=url, flag_provider="postgres", guard_enabled=False)
    async with open_system(settings) as system:
        while system.flags.mode_for(domain, "key", None) != before:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        print("ready", flush=True)
        while system.flags.mode_for(domain, "key", None) != after:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        print(f"seen {time.time():.6f}", flush=True)


if __name__ == "__main__":
    # stdout carries the protocol above; logs go to stderr.
    configure_logging("console", stream=sys.stderr)
    asyncio.run(main(*sys.argv[1:5]))
