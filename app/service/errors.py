"""Exceptions as HTTP answers: bad input is a 4xx with a clear message, never a 500.

=========================  ======
``ValidationError``         422
``FlagError``               422
``TransitionError``         409 (a jump without force)
``NotFoundError``           404
``Refused`` (ops token)     401 or 403
``DatabaseError``           503
``FlagSourceUnavailable``   503
=========================  ======
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.service.auth import Refused
from flags.model import FlagError, FlagSourceUnavailable
from flags.transitions import TransitionError
from persistence.errors import DatabaseError, NotFoundError, ValidationError

__all__ = ["install_error_handlers"]

STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ValidationError, 422),
    (FlagError, 422),
    (TransitionError, 409),
    (NotFoundError, 404),
    (DatabaseError, 503),
    (FlagSourceUnavailable, 503),
)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per exception class of ``STATUS``, and one for ``Refused``."""
    for exc_class, status in STATUS:
        app.add_exception_handler(exc_class, _handler(status))
    app.add_exception_handler(Refused, _refused)


def _handler(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if status >= 500:
            structlog.get_logger().warning(
                "http.unavailable", path=request.url.path, error=type(exc).__name__
            )
        return JSONResponse({"detail": str(exc) or type(exc).__name__}, status_code=status)

    return handle


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    structlog.get_logger().warning("ops.refused", path=request.url.path, status=exc.status)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)
