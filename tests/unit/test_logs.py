"""``configure_logging``: dualpath's own processes never render local variables."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from app.logs import configure_logging

pytestmark = pytest.mark.unit

PASSWORD = "pw-in-a-local"


def raised() -> BaseException:
    def connect() -> None:
        dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1/game"
        raise ConnectionError(f"refused ({len(dsn)})")

    try:
        connect()
    except ConnectionError as exc:
        return exc
    raise AssertionError("did not raise")


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    structlog.reset_defaults()


class TestNoLocals:
    """Even an ``exc_info`` from someone else's code is rendered without locals."""

    @pytest.mark.parametrize("fmt", ["console", "json"])
    def test_exc_info_without_locals(self, fmt: str) -> None:
        out = io.StringIO()
        configure_logging(fmt, stream=out)  # type: ignore[arg-type]
        structlog.get_logger().error("demo.failed", exc_info=raised())
        text = out.getvalue()
        assert "demo.failed" in text and "ConnectionError: refused" in text
        assert PASSWORD not in text

    def test_json_is_one_object_per_line(self) -> None:
        out = io.StringIO()
        configure_logging("json", stream=out)
        structlog.get_logger().warning("demo.event", n=1)
        line = json.loads(out.getvalue())
        assert line["event"] == "demo.event" and line["level"] == "warning" and line["n"] == 1

    def test_console_is_readable_lines(self) -> None:
        out = io.StringIO()
        configure_logging("console", stream=out)
        structlog.get_logger().warning("demo.event", n=1)
        assert "[warning  ] demo.event" in out.getvalue() and "n=1" in out.getvalue()

    def test_level_filters(self) -> None:
        out = io.StringIO()
        configure_logging("console", level="warning", stream=out)
        structlog.get_logger().info("demo.quiet")
        assert out.getvalue() == ""

    def test_unknown_format_refused(self) -> None:
        with pytest.raises(ValueError, match="json or console"):
            configure_logging("xml", stream=io.StringIO())  # type: ignore[arg-type]
