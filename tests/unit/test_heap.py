"""Freed heap memory goes back to the system: measured in a process of its own."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

from app.heap import HeapTrimmer, trim_heap

pytestmark = pytest.mark.skipif(not HeapTrimmer(0).available, reason="needs glibc malloc_trim")

# 80 MiB of 4 KiB blocks from the C heap, then all but every 32nd freed: the live ones pin
# the heap, so the freed pages stay resident until they are trimmed.
FRAGMENT = textwrap.dedent(
    """
    import json, sys
    from app.heap import trim_heap
    from app.service.traffic_audit import resident_kib

    blocks = [bytes(4096) for _ in range(20_000)]
    kept = blocks[::32]
    del blocks
    freed = resident_kib()
    if sys.argv[1] == "trim":
        trim_heap()
    print(json.dumps({"freed": freed, "after": resident_kib(), "kept": len(kept)}))
    """
)


def resident_after(action: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", FRAGMENT, action], capture_output=True, text=True, check=True
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


def test_trimming_gives_freed_pages_back() -> None:
    untouched = resident_after("none")
    trimmed = resident_after("trim")
    mib = 1024
    assert untouched["freed"] - untouched["after"] < 5 * mib  # freed, yet still resident
    assert trimmed["freed"] - trimmed["after"] > 40 * mib


def test_trim_heap_answers() -> None:
    assert trim_heap() in (True, False)


class TestHeapTrimmer:
    async def test_trims_on_its_interval_until_stopped(self) -> None:
        trimmer = HeapTrimmer(0.02)
        trimmer.start()
        await asyncio.sleep(0.3)
        await trimmer.stop()
        counted = trimmer.trims
        assert counted >= 3
        await asyncio.sleep(0.1)
        assert trimmer.trims == counted
        await trimmer.stop()  # idempotent

    async def test_zero_turns_it_off(self) -> None:
        trimmer = HeapTrimmer(0)
        trimmer.start()
        await asyncio.sleep(0.05)
        assert trimmer.trims == 0
        await trimmer.stop()

    def test_negative_interval_is_refused(self) -> None:
        with pytest.raises(ValueError, match="interval_s"):
            HeapTrimmer(-1)
