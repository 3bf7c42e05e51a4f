"""structlog configured once, at start-up of the service: JSON lines on stdout."""

from __future__ import annotations

import logging

import structlog

__all__ = ["configure_json_logging"]


def configure_json_logging(level: str = "info") -> None:
    """JSON log lines with an ISO timestamp and the level; below ``level`` is dropped."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    logging.basicConfig(level=numeric, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
