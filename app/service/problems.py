"""Every error of the HTTP API as an RFC 9457 problem, and declared as one in the OpenAPI.

One body shape for every 4xx and 5xx, served as ``application/problem+json``::

    {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no player 7"}

A 422 adds ``errors``, one per refused field, each naming it (``loc`` as FastAPI gives it:
``["body", "reason"]``, ``["query", "limit"]``) with a message and an error type.

The OpenAPI document declares, for each operation, what it can answer besides its success:
400 when it takes a body (one that is not JSON), 422 when it takes parameters or a body
(FastAPI's own rule), 404 when its path names
something, 401 and 403 when it needs the ops token (its ``security``), 503 as every route
reads the database or the flags, and whatever the route adds itself
(``responses=problems(409)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

__all__ = [
    "MEDIA_TYPE",
    "FieldError",
    "Problem",
    "add_problems",
    "document_problems",
    "field_error",
    "install_problem_handlers",
    "problem_response",
    "problems",
]

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One refused field of a request: where it is, what is wrong with it."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the name.")
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="A URI naming the problem type.")
    title: str = Field(description="The status code's phrase.")
    status: int
    detail: str = Field(description="What went wrong, for a person.")
    errors: list[FieldError] | None = Field(
        default=None, description="The refused fields (422 only)."
    )


def problem_response(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem details response with ``status`` and ``detail`` (and extension members)."""
    body = Problem(
        title=_title(status),
        status=status,
        detail=detail,
        errors=None if errors is None else [FieldError.model_validate(e) for e in errors],
    )
    return JSONResponse(
        {**body.model_dump(exclude_none=True), **(extensions or {})},
        status_code=status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status a problem body."""
    return {status: _declared(status) for status in statuses}


def _declared(status: int) -> dict[str, Any]:
    return {
        "description": _title(status),
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP errors and refused requests as problems (domain errors: ``errors.py``)."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [p if isinstance(p, int) else str(p) for p in e["loc"]], "msg": e["msg"],
         "type": e["type"]}
        for e in exc.errors()
    ]  # fmt: skip
    return problem_response(422, "invalid request: " + "; ".join(map(_said, errors)), errors)


def _said(error: dict[str, Any]) -> str:
    """``field.path: message``, the location's first part (body, query...) left out."""
    where = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
    return f"{where}: {error['msg']}"


def field_error(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 problem naming one field, for a check a route makes itself."""
    return RequestValidationError(
        [{"loc": (location, name), "msg": message, "type": "value_error"}]
    )


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare each operation's problems (see the module docstring)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            add_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_problems(schema: dict[str, Any]) -> None:
    """Declare the problems of every operation of ``schema``, in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(defs.pop("$defs", {}))
    components["Problem"] = defs
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status in _statuses(operation):
                responses[str(status)] = _declared(status)


def _statuses(operation: dict[str, Any]) -> list[int]:
    """What an operation can answer besides its success, read from its own declaration."""
    parameters = operation.get("parameters", [])
    responses = operation.get("responses", {})
    statuses = [503]  # every documented route reads the database or the flags
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if "requestBody" in operation:  # a body that is not JSON at all
        statuses.append(400)
    if "422" in responses:  # FastAPI's rule: the operation takes parameters or a body
        statuses.append(422)
    if operation.get("security"):
        statuses += [401, 403]
    statuses += [int(s) for s in responses if s.isdigit() and int(s) >= 400]
    return statuses
