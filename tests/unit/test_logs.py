"""``configure_logging``: dualpath's own processes never render local variables."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest
import structlog

from app.logs import configure_logging, log_choice

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
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "dualpath"]:
        root.removeHandler(handler)
    logging.captureWarnings(False)


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


class TestStandardFields:
    """Both formats carry structlog's standard fields; the standard library's loggers too."""

    def test_json_fields(self) -> None:
        uvicorn = logging.getLogger("uvicorn")  # as uvicorn's own logging config leaves it
        uvicorn.addHandler(logging.NullHandler())
        uvicorn.propagate = False
        out = io.StringIO()
        configure_logging("json", stream=out)
        structlog.get_logger().info("demo.event")
        logging.getLogger("uvicorn.error").warning("from %s", "uvicorn")
        first, second = (json.loads(line) for line in out.getvalue().splitlines())
        assert {"timestamp", "level", "event", "logger"} <= first.keys()
        assert first["logger"] == __name__ and first["timestamp"].endswith("Z")
        assert (second["event"], second["logger"], second["level"]) == (
            "from uvicorn", "uvicorn.error", "warning",
        )  # fmt: skip

    def test_warnings_are_log_lines(self) -> None:
        out = io.StringIO()
        configure_logging("json", stream=out)
        warnings.warn("a library's warning", RuntimeWarning, stacklevel=1)
        [line] = [json.loads(line) for line in out.getvalue().splitlines()]
        assert "a library's warning" in line["event"] and line["logger"] == "py.warnings"


class TestChoice:
    """DUALPATH_LOG_FORMAT and DUALPATH_LOG_LEVEL, else JSON unless on a terminal."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def test_defaults_by_stream(self) -> None:
        assert log_choice(None, None, io.StringIO(), env={}) == ("json", "info")
        assert log_choice(None, None, self.Terminal(), env={}) == ("console", "info")

    def test_environment(self) -> None:
        env = {"DUALPATH_LOG_FORMAT": "console", "DUALPATH_LOG_LEVEL": "WARNING"}
        assert log_choice(None, None, io.StringIO(), env=env) == ("console", "warning")
        assert log_choice("json", "debug", io.StringIO(), env=env) == ("json", "debug")

    @pytest.mark.parametrize(
        ("env", "named"),
        [({"DUALPATH_LOG_FORMAT": "xml"}, "DUALPATH_LOG_FORMAT"),
         ({"DUALPATH_LOG_LEVEL": "loud"}, "DUALPATH_LOG_LEVEL")],
    )  # fmt: skip
    def test_refused(self, env: dict[str, str], named: str) -> None:
        with pytest.raises(ValueError, match=named):
            log_choice(None, None, io.StringIO(), env=env)
