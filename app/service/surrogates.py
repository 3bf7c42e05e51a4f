"""No text with an unpaired surrogate gets in, on any route.

JSON may escape half of a UTF-16 pair (``"\\udc00"``); Python decodes it into a string that
cannot be encoded as UTF-8, so PostgreSQL, a log line or a JSON answer would fail on it
later. Every request body is checked here, before any route sees it, and refused with a 422
naming the field. (Paths and query strings cannot hold one: they are decoded from UTF-8,
where an invalid byte becomes U+FFFD.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["refuse_surrogates", "surrogates_in"]

Location = tuple[str | int, ...]


async def refuse_surrogates(request: Request) -> None:
    """The app-wide dependency: 422 for a JSON body holding an unpaired surrogate."""
    if "json" not in request.headers.get("content-type", ""):
        return
    try:
        body = json.loads(await request.body())
    except ValueError:
        return  # the route's own parsing refuses it
    errors = [
        {
            "loc": ("body", *where),
            "msg": "holds an unpaired surrogate, which is not text",
            "type": "string_unicode",
            "input": None,
        }
        for where in surrogates_in(body)
    ]
    if errors:
        raise RequestValidationError(errors)


def surrogates_in(value: Any, where: Location = ()) -> Iterator[Location]:
    """Where in a decoded JSON value a string (a value or a key) holds an unpaired surrogate."""
    if isinstance(value, str):
        if _has_surrogate(value):
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
            if _has_surrogate(key):
                yield (*where, shown)
            yield from surrogates_in(item, (*where, shown))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from surrogates_in(item, (*where, index))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
