"""Exceptions as HTTP answers: bad input is a 4xx with a clear message, never a 500.

Every answer is a problem (RFC 9457, ``app.service.problems``):

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
from app.service.problems import install_problem_handlers, problem_response
from flags.model import FlagError, FlagSourceUnavailable
from flags.transitions import TransitionError
from observability import Outage, mask_secrets
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
    """Register one handler per exception class of ``STATUS``, one for ``Refused``, and
    the problem handlers of HTTP errors and refused requests."""
    install_problem_handlers(app)
    for exc_class, status in STATUS:
        app.add_exception_handler(exc_class, _handler(status))
    app.add_exception_handler(Refused, _refused)


def _handler(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if status >= 500:
            _outage(request).failed(exc, path=request.url.path)
        detail = mask_secrets(str(exc)) or type(exc).__name__
        return problem_response(status, detail)

    return handle


def _outage(request: Request) -> Outage:
    """The service's outage: logged once when 503s start and once when 2xx-4xx are back."""
    outage: Outage = request.app.state.service.metrics.outage
    return outage


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    structlog.get_logger().warning("ops.refused", path=request.url.path, status=exc.status)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(exc.status, exc.message, headers=headers)
