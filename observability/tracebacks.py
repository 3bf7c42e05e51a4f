"""Exceptions as plain, masked strings: what a log event carries instead of ``exc_info``.

A renderer given ``exc_info`` decides how to show the exception, and several (Rich,
better-exceptions, structlog's default console) print every frame's local variables: a
driver's ``dsn`` with the database password, a player's fields. A string field leaves the
renderer nothing to add. ``traceback.format_exception`` never includes locals.
"""

from __future__ import annotations

import traceback

from observability.secrets import mask_secrets

__all__ = ["describe", "format_traceback"]

MAX_MESSAGE = 500


def describe(error: BaseException | str) -> str:
    """``Class: first line of the message``, masked; a string is masked as it is."""
    if not isinstance(error, BaseException):
        return mask_secrets(error)
    text = str(error).strip()
    first = text.splitlines()[0][:MAX_MESSAGE] if text else ""
    name = type(error).__name__
    return mask_secrets(f"{name}: {first}" if first else name)


def format_traceback(error: BaseException) -> str:
    """The traceback of ``error`` and its causes, without local variables, masked."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return mask_secrets("".join(lines)).rstrip("\n")
