"""How dualpath's own processes log: configured once, here, at start-up.

Logs go to stderr, always: stdout is the command's answer (``--json`` is piped into ``jq``).
Two formats, both structlog's own renderers over the same fields (``timestamp``, ``level``,
``event``, ``logger``): ``json``, one object per line, for a log shipper, and ``console``,
readable lines. ``DUALPATH_LOG_FORMAT`` chooses; without it a terminal gets ``console`` and
anything else (a file, a pipe, a container's log driver) gets ``json``. ``DUALPATH_LOG_LEVEL``
drops what is below it (``info`` by default). The standard library's loggers (uvicorn,
asyncpg, the Unleash SDK) and Python's warnings go through the same handler and renderer,
as structlog recommends.

Neither format renders local variables: an exception logged with ``exc_info`` by someone
else's code is formatted by the standard library's traceback module (the JSON ``exception``
field, or structlog's plain traceback in the console), never by Rich or better-exceptions,
whose ``show_locals`` would print a driver's ``dsn`` with the database password. dualpath's
own code passes tracebacks as strings anyway (``observability.report_error``), and masks them.

A program that uses dualpath as a library keeps its own configuration: nothing here runs on
import or in ``open_system()``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog

__all__ = ["FORMATS", "LEVELS", "LogFormat", "configure_logging", "log_choice"]

LogFormat = Literal["json", "console"]
FORMATS: tuple[LogFormat, ...] = ("json", "console")
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMAT_ENV = "DUALPATH_LOG_FORMAT"
LEVEL_ENV = "DUALPATH_LOG_LEVEL"
HANDLER_NAME = "dualpath"


def log_choice(
    fmt: str | None, level: str | None, stream: TextIO, env: Mapping[str, str] = os.environ
) -> tuple[LogFormat, str]:
    """The format and level to use: given, else from the environment, else by ``stream``.

    Raises ``ValueError`` naming the setting for a format or level it does not know.
    """
    fmt = (fmt or env.get(FORMAT_ENV) or _default_format(stream)).strip().lower()
    level = (level or env.get(LEVEL_ENV) or "info").strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"log format ({FORMAT_ENV}) must be json or console, not {fmt!r}")
    if level not in LEVELS:
        raise ValueError(f"log level ({LEVEL_ENV}) must be one of {', '.join(LEVELS)}")
    return ("json" if fmt == "json" else "console"), level


def _default_format(stream: TextIO) -> str:
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


#: The web server's loggers: their lines go through the root handler like every other.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(
    fmt: str | None = None, level: str | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog and the standard library's root logger for one process.

    ``stream`` is where every log line goes (stderr by default); see the module docstring
    for how ``fmt`` and ``level`` default.
    """
    chosen, level = log_choice(fmt, level, stream or sys.stderr)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_exception_processors(chosen),
                _renderer(chosen, stream or sys.stderr),
            ],
        )
    )
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)  # a reconfiguration replaces ours, and only ours
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in SERVER_LOGGERS:  # uvicorn's own config, if it ran, gave them handlers of theirs
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate, server.disabled = True, False
    logging.captureWarnings(True)  # a library's warning is a log line too, not raw stderr
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        # A command may reconfigure (a test, a level of its own), so loggers are not cached.
        cache_logger_on_first_use=False,
    )


class StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a line is written, not when configured."""

    @property
    def stream(self) -> TextIO:
        """The current ``sys.stderr`` (a test runner may have swapped it since)."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignored: the stream is always the current stderr."""


def _shared_processors() -> list[Any]:
    """What every line carries, whichever logger made it."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _exception_processors(fmt: LogFormat) -> list[Any]:
    if fmt == "json":
        return [structlog.processors.format_exc_info]
    return [structlog.dev.set_exc_info]


def _renderer(fmt: LogFormat, stream: TextIO) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    colors = bool(getattr(stream, "isatty", None) and stream.isatty())
    return structlog.dev.ConsoleRenderer(
        colors=colors, exception_formatter=structlog.dev.plain_traceback
    )
