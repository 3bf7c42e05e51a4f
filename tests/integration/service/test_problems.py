"""Every error is an RFC 9457 problem, declared in the OpenAPI; free text is checked.

Refused free text (control characters, unpaired surrogates, a service name that is not an
identifier) is a 422 naming the field, and changes nothing; the command line applies the
same rules.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.service.conftest import AUTH
from tests.integration.service.test_cli_streams import dualpath

pytestmark = pytest.mark.integration
ON_THE_SERVICE_LOOP = pytest.mark.asyncio(loop_scope="package")

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem body of ``response``, checked for its status and its members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def locations(body: dict[str, Any]) -> list[list[Any]]:
    """Where each refused field is."""
    return [error["loc"] for error in body["errors"]]


@ON_THE_SERVICE_LOOP
class TestProblems:
    """Each kind of error has the one shape."""

    async def test_not_found(self, client: httpx.AsyncClient) -> None:
        body = problem(await client.get(f"/api/players/{uuid.uuid4()}"), 404)
        assert "no player" in body["detail"] and "errors" not in body

    async def test_invalid_query(self, client: httpx.AsyncClient) -> None:
        body = problem(await client.get("/api/flags/history", params={"limit": 0}), 422)
        assert locations(body) == [["query", "limit"]]

    async def test_a_route_check_names_its_field(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        response = await client.post(
            "/api/players", json={"name": "Nowhere2", "current_room_id": "nope"}
        )
        body = problem(response, 422)
        assert locations(body) == [["body", "current_room_id"]] and "no room" in body["detail"]

    async def test_unauthorised(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/api/flags/player", json={"mode": "legacy", "reason": "x"})
        problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


@ON_THE_SERVICE_LOOP
class TestFreeText:
    """Bounded, printable text only; the refusal names the field and changes nothing."""

    @pytest.mark.parametrize(
        ("body", "where"),
        [
            ({"mode": "legacy", "reason": "bell\x07"}, ["body", "reason"]),
            ({"mode": "legacy", "reason": "x" * 501}, ["body", "reason"]),
            ({"mode": "legacy", "reason": "ok", "services": ["a b"]}, ["body", "services", 0]),
            ({"mode": "legacy", "reason": "ok", "services": ["s" * 65]}, ["body", "services", 0]),
            ({"mode": "legacy", "reason": "ok", "services": ["\x1b[31m"]}, ["body", "services", 0]),
        ],
    )
    async def test_refused(
        self, client: httpx.AsyncClient, body: dict[str, Any], where: list[Any]
    ) -> None:
        before = (await client.get("/api/flags/history", params={"limit": 1000})).json()
        refused = problem(await client.put("/api/flags/profession", json=body, headers=AUTH), 422)
        assert where in locations(refused)
        after = (await client.get("/api/flags/history", params={"limit": 1000})).json()
        assert after == before

    @pytest.mark.parametrize(
        ("path", "raw", "where"),
        [
            ("/api/flags/profession", '{"mode": "legacy", "reason": "a\\udc00b"}',
             ["body", "reason"]),
            ("/api/flags/profession", '{"mode": "legacy", "reason": "ok", "services": ["\\ud800"]}',
             ["body", "services", 0]),
            ("/api/players", '{"name": "half \\udfff", "current_room_id": "x"}', ["body", "name"]),
        ],
    )  # fmt: skip
    async def test_unpaired_surrogate(
        self, client: httpx.AsyncClient, path: str, raw: str, where: list[Any]
    ) -> None:
        method = client.put if path.startswith("/api/flags") else client.post
        headers = {**AUTH, "content-type": "application/json"}
        body = problem(await method(path, content=raw.encode(), headers=headers), 422)
        assert where in locations(body)

    @pytest.mark.parametrize(
        ("method", "path", "params", "raw", "where"),
        [
            ("get", "/api/divergences", {"domain": "pla\x00yer"}, None, ["query", "domain"]),
            ("get", "/api/divergences", {"kind": "\x00"}, None, ["query", "kind"]),
            ("get", "/api/divergences/ab%00cd", None, None, ["path", "signature"]),
            ("get", "/api/players/by-name/a%00b", None, None, ["path", "name"]),
            ("put", "/api/flags/profession", None, '{"mode": "legacy", "reason": "a\\u0000b"}',
             ["body", "reason"]),
        ],
    )  # fmt: skip
    async def test_nul_character(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        params: dict[str, str] | None,
        raw: str | None,
        where: list[Any],
    ) -> None:
        """PostgreSQL cannot store a NUL in text: refused with a 422 before any route runs."""
        before = (await client.get("/api/flags/history", params={"limit": 1000})).json()
        headers = {**AUTH, "content-type": "application/json"}
        content = None if raw is None else raw.encode()
        answer = await client.request(method, path, params=params, content=content, headers=headers)
        assert where in locations(problem(answer, 422))
        after = (await client.get("/api/flags/history", params={"limit": 1000})).json()
        assert after == before


@ON_THE_SERVICE_LOOP
class TestOpenApiDocument:
    """The document declares each operation's problems."""

    async def test_errors_are_declared_problems(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        paths = document["paths"]
        assert {"404", "422", "503"} <= set(paths["/api/players/{player_id}"]["get"]["responses"])
        flag_set = paths["/api/flags/{domain}"]["put"]["responses"]
        assert {"400", "401", "403", "404", "409", "422", "503"} <= set(flag_set)
        for item in paths.values():
            for operation in item.values():
                for status, declared in operation["responses"].items():
                    if int(status) >= 400:
                        schema = declared["content"][PROBLEM]["schema"]
                        assert schema == {"$ref": "#/components/schemas/Problem"}
        assert "HTTPValidationError" not in document["components"]["schemas"]


class TestCommandLine:
    """``dualpath flags set`` refuses what the API refuses, before writing anything."""

    @pytest.mark.parametrize(
        ("args", "said"),
        [
            (["--reason", "tab\there"], "control character"),
            (["--reason", "ok", "--services", "a b"], "service name"),
        ],
    )
    def test_refused(self, service_database: str, args: list[str], said: str) -> None:
        result = dualpath(service_database, "flags", "set", "profession", "legacy", *args)
        assert result.returncode == 2 and said in result.stderr and result.stdout == ""
