"""``Outage``: two events per outage, a duration and counts, whatever the number of calls."""

from __future__ import annotations

import threading

import pytest
from structlog.testing import capture_logs

from observability import Outage

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestTransitions:
    """Only the start and the end of an outage are logged."""

    def test_many_failures_one_start_one_end(self) -> None:
        clock = Clock()
        outage = Outage("db.pool", clock=clock, pool="main")
        with capture_logs() as logs:
            outage.succeeded()  # nothing was down: nothing to say
            for _ in range(500):
                outage.failed(ConnectionRefusedError("refused"))
            outage.failed("connection lost")
            clock.now += 3.25
            outage.succeeded()
            outage.succeeded()
        assert [(e["event"], e["log_level"]) for e in logs] == [
            ("db.pool_unavailable", "warning"),
            ("db.pool_recovered", "info"),
        ]
        start, end = logs
        assert start["error"] == "ConnectionRefusedError: refused" and start["pool"] == "main"
        assert end["down_for_s"] == 3.25 and end["failed_calls"] == 501
        assert end["errors"] == {"ConnectionRefusedError": 500, "connection lost": 1}
        assert not outage.down and outage.outages == 1

    def test_a_second_outage_is_logged_again(self) -> None:
        outage = Outage("db.pool", clock=Clock())
        with capture_logs() as logs:
            for _ in range(2):
                outage.failed("down")
                outage.succeeded()
        assert len(logs) == 4 and outage.outages == 2

    def test_error_text_is_masked(self) -> None:
        outage = Outage("db.pool", clock=Clock())
        with capture_logs() as logs:
            outage.failed(OSError("cannot connect to postgresql://u:pw-123@h/d"))
        assert logs[0]["error"] == "OSError: cannot connect to postgresql://u:***@h/d"


class TestSettle:
    """With ``settle_s``, stragglers of the same outage do not start a second one."""

    def test_recovery_waits_for_calls_to_keep_working(self) -> None:
        clock = Clock()
        outage = Outage("db.pool", settle_s=1.0, clock=clock)
        with capture_logs() as logs:
            outage.failed("down")
            clock.now += 2.0
            outage.succeeded()  # first success: not yet
            clock.now += 0.5
            outage.failed("a connection that died with the server")  # same outage
            clock.now += 0.1
            outage.succeeded()  # first success again
            clock.now += 0.5
            outage.succeeded()  # 0.5 s later: not yet
            clock.now += 0.6
            outage.succeeded()  # 1.1 s after the first success: over
        events = [e["event"] for e in logs]
        assert events == ["db.pool_unavailable", "db.pool_recovered"]
        assert logs[1]["down_for_s"] == 2.6  # first failure to the first lasting success
        assert logs[1]["failed_calls"] == 2


class TestThreads:
    """Many threads failing at once still log one start."""

    def test_concurrent_failures(self) -> None:
        outage = Outage("db.pool")
        start = threading.Barrier(8)

        def fail() -> None:
            start.wait()
            for _ in range(200):
                outage.failed("down")

        with capture_logs() as logs:
            threads = [threading.Thread(target=fail) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            outage.succeeded()
        assert [e["event"] for e in logs] == ["db.pool_unavailable", "db.pool_recovered"]
        assert logs[1]["failed_calls"] == 1600
