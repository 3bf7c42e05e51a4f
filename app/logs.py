"""How dualpath's own processes log: configured once, here, at start-up.

Two formats: ``json`` (one JSON object per line, what ``dualpath serve`` writes) and
``console`` (structlog's readable lines, for the other commands). Neither renders local
variables: an exception logged with ``exc_info`` by someone else's code is formatted by the
standard library's traceback module (the JSON ``exception`` field, or structlog's plain
traceback in the console), never by Rich or better-exceptions, whose ``show_locals`` would
print a driver's ``dsn`` with the database password. dualpath's own code passes tracebacks
as strings anyway (``observability.report_error``), and masks them.

A program that uses dualpath as a library keeps its own configuration: nothing here runs on
import or in ``open_system()``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog

__all__ = ["LogFormat", "configure_logging"]

LogFormat = Literal["json", "console"]
FORMATS: tuple[LogFormat, ...] = ("json", "console")


def configure_logging(
    fmt: LogFormat = "console", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog for one process (for ``json``, the standard library's root too).

    ``stream`` is where structlog writes (stdout by default); below ``level`` is dropped.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    numeric = logging.getLevelNamesMapping()[level.upper()]
    if fmt == "json":  # the service's libraries (uvicorn, the Unleash SDK) log through it
        logging.basicConfig(level=numeric, format="%(message)s")
    structlog.configure(
        processors=[*_shared_processors(fmt), _renderer(fmt, stream or sys.stdout)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream),
        # The service caches its loggers; a command may reconfigure (serve, --json), so not.
        cache_logger_on_first_use=fmt == "json",
    )


def _shared_processors(fmt: LogFormat) -> list[Any]:
    if fmt == "json":
        return [
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ]
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.dev.set_exc_info,
        structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
    ]


def _renderer(fmt: LogFormat, stream: TextIO) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    colors = bool(getattr(stream, "isatty", None) and stream.isatty())
    return structlog.dev.ConsoleRenderer(
        colors=colors, exception_formatter=structlog.dev.plain_traceback
    )
