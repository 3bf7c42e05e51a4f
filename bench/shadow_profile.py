"""Where a shadowed call's time goes: pyinstrument over two cases of ``bench.shadow``.

``python -m bench.shadow_profile URL [SECONDS]`` profiles, every domain in ``shadow``, a
point read at 1 in flight and the 80/20 mix at 100 in flight, and prints each profile's
call tree (the event loop's thread; the legacy pool's threads show as the waits on them).
"""

from __future__ import annotations

import asyncio
import sys

from bench.harness import closed_loop
from bench.paths import prepare
from bench.router_overhead import player_ids
from bench.shadow import Paths, flags, mixed, point_read

CASES = (("read, 1 in flight", point_read, 1), ("80/20 mix, 100 in flight", mixed, 100))


async def profile(url: str, seconds: float) -> list[tuple[str, str]]:
    """Each case's pyinstrument text report, after a warm-up of the same case."""
    from pyinstrument import Profiler

    prepare(url)
    paths = Paths(url)
    await paths.start()
    reports = []
    try:
        ids = player_ids(url)
        players = [await paths.async_layer.get_player_by_id(p) for p in ids[:500]]
        router = paths.router(flags("shadow"))
        for case, workload, in_flight in CASES:
            op = workload(router, players)
            await closed_loop(op, in_flight=in_flight, seconds=1.0)
            profiler = Profiler(async_mode="disabled")
            profiler.start()
            await closed_loop(op, in_flight=in_flight, seconds=seconds, warmup=0.0)
            await paths.drain()
            profiler.stop()
            reports.append((case, profiler.output_text(show_all=False)))
    finally:
        await paths.close()
    return reports


def main(argv: list[str]) -> int:
    """Print each case's profile."""
    if len(argv) not in (1, 2):
        print("usage: python -m bench.shadow_profile postgresql://... [seconds]", file=sys.stderr)
        return 2
    seconds = float(argv[1]) if len(argv) == 2 else 5.0
    for case, text in asyncio.run(profile(argv[0], seconds)):
        print(f"=== {case} ===\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
