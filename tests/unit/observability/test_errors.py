"""``ErrorReports``: one error event per signature and window, with a count of the rest."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from observability import ErrorReports

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def boom(kind: type[Exception] = KeyError) -> Exception:
    try:
        raise kind("boom")
    except Exception as exc:
        return exc


def other_line() -> Exception:
    try:
        raise KeyError("elsewhere")
    except Exception as exc:
        return exc


class TestRateLimit:
    """The first of a signature is logged; the same again within the window is counted."""

    def test_once_per_window_then_with_the_count(self) -> None:
        clock = Clock()
        reports = ErrorReports(window_s=60.0, clock=clock)
        with capture_logs() as logs:
            logged = [reports.report("x.failed", boom()) for _ in range(5)]
            clock.now += 61
            logged.append(reports.report("x.failed", boom()))
        assert logged == [True, False, False, False, False, True]
        assert [e["event"] for e in logs] == ["x.failed", "x.failed"]
        assert "suppressed" not in logs[0] and logs[1]["suppressed"] == 4
        assert logs[0]["log_level"] == "error"
        assert logs[0]["exception"].startswith("Traceback")
        assert "exc_info" not in logs[0]

    def test_signatures_are_event_class_and_line(self) -> None:
        reports = ErrorReports(clock=Clock())
        with capture_logs() as logs:
            reports.report("x.failed", boom())
            reports.report("y.failed", boom())
            reports.report("x.failed", boom(ValueError))
            reports.report("x.failed", other_line())
        assert len(logs) == 4

    def test_fields_and_masking(self) -> None:
        reports = ErrorReports(clock=Clock())
        error = RuntimeError("dsn=postgresql://u:pw123@h/d")
        with capture_logs() as logs:
            reports.report("x.failed", error, operation="op")
        assert logs[0]["operation"] == "op"
        assert logs[0]["error"] == "RuntimeError: dsn=postgresql://u:***@h/d"
        assert "pw123" not in logs[0]["exception"]
