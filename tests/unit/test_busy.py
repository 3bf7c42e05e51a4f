"""The busy-core helper really keeps a core busy, and says so when it did not."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.busy import burning_core, cpu_seconds

pytestmark = pytest.mark.unit


class TestBurningCore:
    """A child process spins for as long as the block runs, and is gone after it."""

    def test_the_burner_burns_and_is_killed(self) -> None:
        with burning_core() as burner:
            time.sleep(2.0)
            assert cpu_seconds(burner.pid) >= 0.1  # wide: the machine is shared
        assert burner.poll() is not None

    def test_a_burner_that_did_not_run_fails_the_block(self) -> None:
        with pytest.raises(AssertionError, match="the core was not kept busy"):
            with burning_core() as burner:
                os.kill(burner.pid, signal.SIGSTOP)
                time.sleep(1.0)


@pytest.mark.busy_cpu
def test_a_marked_test_runs_beside_a_busy_core() -> None:
    """The marker's fixture: some process other than this one is burning CPU meanwhile."""
    children = [p for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == os.getpid()]
    spinning = [p for p in children if "while True" in _cmdline(int(p))]
    assert len(spinning) == 1


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            return cmd.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
