"""A loaded machine for tests that must hold on one: another process burning a core.

Tests marked ``busy_cpu`` run while a child Python process spins in a loop, so they meet
what a shared CI runner or a busy host gives them: the event loop, the legacy threads and
PostgreSQL get less CPU, and timers fire late. The burner is checked to have burnt: a test
that passed on an idle core proves nothing about a busy one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

__all__ = ["MIN_SHARE", "burning_core", "cpu_seconds"]

#: The least share of the test's wall time the burner must have run on a CPU.
MIN_SHARE = 0.05
_SPIN = "while True:\n    pass\n"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def burning_core() -> Iterator[subprocess.Popen[bytes]]:
    """A child process spinning on one core while the block runs; killed after it."""
    burner = subprocess.Popen([sys.executable, "-c", _SPIN])
    started = time.monotonic()
    try:
        yield burner
        elapsed = time.monotonic() - started
        burnt = cpu_seconds(burner.pid)
        if elapsed > 0.5 and burnt < MIN_SHARE * elapsed:
            raise AssertionError(
                f"the burner ran {burnt:.2f} s of {elapsed:.2f} s: the core was not kept busy"
            )
    finally:
        burner.kill()
        burner.wait()
