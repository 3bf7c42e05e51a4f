"""No text PostgreSQL cannot store gets in, on any route: an unpaired surrogate, or a NUL.

JSON may escape half of a UTF-16 pair (``"\\udc00"``); Python decodes it into a string that
cannot be encoded as UTF-8, so PostgreSQL, a log line or a JSON answer would fail on it
later. A NUL character (``"\\u0000"`` in JSON, ``%00`` in a path or a query string) is text
to Python, but PostgreSQL refuses it in any text value, so a route would fail with a 500 on
it. Every request's path, query string and JSON body is checked here, before any route sees
it, and refused with a 422 naming the field. (Paths and query strings cannot hold a
surrogate: they are decoded from UTF-8, where an invalid byte becomes U+FFFD.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["NUL", "nuls_in", "refuse_surrogates", "surrogates_in"]

Location = tuple[str | int, ...]
NUL = "\x00"


async def refuse_surrogates(request: Request) -> None:
    """The app-wide dependency: 422 for a NUL in the path or the query string, or a JSON
    body holding an unpaired surrogate or a NUL."""
    errors = [
        _error((part, name), "holds a NUL character, which cannot be stored as text")
        for part, items in (
            ("path", request.path_params.items()),
            ("query", request.query_params.multi_items()),
        )
        for name, value in items
        if isinstance(value, str) and NUL in value
    ]
    if "json" in request.headers.get("content-type", ""):
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None  # the route's own parsing refuses it
        errors += [
            _error(("body", *where), "holds an unpaired surrogate, which is not text")
            for where in surrogates_in(body)
        ]
        errors += [
            _error(("body", *where), "holds a NUL character, which cannot be stored as text")
            for where in nuls_in(body)
        ]
    if errors:
        raise RequestValidationError(errors)


def _error(where: Location, msg: str) -> dict[str, Any]:
    return {"loc": where, "msg": msg, "type": "string_unicode", "input": None}


def surrogates_in(value: Any, where: Location = ()) -> Iterator[Location]:
    """Where in a decoded JSON value a string (a value or a key) holds an unpaired surrogate."""
    return _strings_where(value, _has_surrogate, where)


def nuls_in(value: Any, where: Location = ()) -> Iterator[Location]:
    """Where in a decoded JSON value a string (a value or a key) holds a NUL character."""
    return _strings_where(value, lambda text: NUL in text, where)


def _strings_where(
    value: Any, bad: Callable[[str], bool], where: Location = ()
) -> Iterator[Location]:
    if isinstance(value, str):
        if bad(value):
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            shown = key.encode("utf-8", "backslashreplace").decode("utf-8").replace(NUL, "\\0")
            if bad(key):
                yield (*where, shown)
            yield from _strings_where(item, bad, (*where, shown))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings_where(item, bad, (*where, index))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
