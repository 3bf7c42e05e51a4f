"""Exceptions as masked strings, never with local variables, whoever renders the log."""

from __future__ import annotations

import io
from typing import Any

import pytest
import structlog

from observability import describe, format_traceback, report_error

pytestmark = pytest.mark.unit

PASSWORD = "s3cret-local-pw"
URL = f"postgresql://postgres:{PASSWORD}@127.0.0.1/game"


def fail_with_a_secret_local() -> None:
    dsn = URL  # what a driver's connect() has among its locals
    token = "tok-local-secret"
    raise ConnectionError(f"cannot reach {dsn.rsplit('@', 1)[1]} ({len(token)})")


def raised() -> BaseException:
    try:
        fail_with_a_secret_local()
    except ConnectionError as exc:
        return exc
    raise AssertionError("did not raise")


@pytest.fixture
def default_structlog() -> Any:
    """structlog as a host that never configured it has it, writing to a buffer."""
    structlog.reset_defaults()
    out = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
    yield out
    structlog.reset_defaults()


class TestFormat:
    """``describe`` and ``format_traceback`` give plain strings with the secrets masked."""

    def test_describe_is_class_and_first_line(self) -> None:
        error = ValueError(f"bad URL {URL}\nsecond line")
        assert describe(error) == "ValueError: bad URL postgresql://postgres:***@127.0.0.1/game"

    def test_describe_a_string(self) -> None:
        assert describe(f"password={PASSWORD}") == "password=***"

    def test_traceback_has_frames_and_no_locals(self) -> None:
        text = format_traceback(raised())
        assert text.startswith("Traceback (most recent call last):")
        assert "fail_with_a_secret_local" in text
        assert "ConnectionError: cannot reach 127.0.0.1/game" in text
        assert PASSWORD not in text and "tok-local-secret" not in text

    def test_traceback_of_a_chain_is_masked(self) -> None:
        try:
            try:
                raise OSError(f"dsn={URL}")
            except OSError as inner:
                raise RuntimeError("wrapped") from inner
        except RuntimeError as exc:
            text = format_traceback(exc)
        assert "direct cause" in text and PASSWORD not in text


class TestWithStructlogDefaults:
    """structlog's default renderer prints locals for ``exc_info``; a string field it cannot."""

    def test_exc_info_would_print_the_password(self, default_structlog: io.StringIO) -> None:
        # The hazard this package exists for: the control that shows the check can fail.
        structlog.get_logger().error("demo.failed", exc_info=raised())
        assert PASSWORD in default_structlog.getvalue()

    def test_report_error_prints_no_local(self, default_structlog: io.StringIO) -> None:
        assert report_error("demo.failed_once", raised(), where="unit")
        out = default_structlog.getvalue()
        assert "demo.failed_once" in out and "fail_with_a_secret_local" in out
        assert PASSWORD not in out and "tok-local-secret" not in out
