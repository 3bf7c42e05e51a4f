"""Security: every ops write needs the token, and injection strings are data, never SQL.

Both checks enumerate what they cover from the app itself (its routes and its OpenAPI
schema), so a new write endpoint or a new string parameter is covered without editing here.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.guard.test_cli_flags import run
from tests.integration.service.conftest import ALICE, WRONG

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]

OPS_PREFIXES = ("/api/flags", "/api/divergences", "/api/readiness", "/api/services")
PAYLOADS = (
    "'; DROP TABLE players; --",
    "Robert'); DROP TABLE users;--",
    "1 OR 1=1",
    "' OR '1'='1",
    "$$",
    "$1",
    "\x00",
    "%s%s%s",
    '"; DELETE FROM rooms; --',
    "1; SELECT pg_sleep(5)",
)
#: Tables a successful game API call may add a row to, by (method, path).
CREATES = {
    ("POST", "/api/players"): ("players", "users"),
    ("POST", "/api/containers"): ("containers",),
    ("POST", "/api/items"): ("item_instances",),
    ("POST", "/api/containers/{container_id}/items"): ("container_contents",),
}
#: Tables a successful game API call may remove a row from (an item created above by name).
DELETES = {("DELETE", "/api/items/{item_instance_id}"): ("item_instances",)}
#: Bookkeeping of the flags, the shadow engine, the guard and the counts by calling service,
#: which change on their own (the counts are written up to a second after the calls).
BOOKKEEPING = re.compile(r"^(flag|shadow_|divergence|guard_|alembic|service_)")


def ops_writes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every non-GET operation of the ops API, from the app's schema."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            tags = op.get("tags") or []
            is_ops = path.startswith(OPS_PREFIXES) or any(str(t).startswith("ops") for t in tags)
            if method.upper() not in ("GET", "HEAD") and is_ops:
                found.append((method.upper(), path))
    return found


#: Written in the background for calls made before the refused requests (which make none):
#: the guard's record for replay, every second, and calibration's A/A and A/B counts, at each
#: of its judgements.
RECORDED_ON_THEIR_OWN = ("guard_calls", "guard_looks", "shadow_calibration")


async def snapshot(url: str) -> dict[str, int]:
    """Row counts of every table in the public schema but the guard's record."""
    conn = await asyncpg.connect(url)
    try:
        names = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )]  # fmt: skip
        return {
            n: await conn.fetchval(f'SELECT count(*) FROM "{n}"')
            for n in names if n not in RECORDED_ON_THEIR_OWN
        }  # fmt: skip
    finally:
        await conn.close()


class TestOpsWritesNeedTheToken:
    """Each ops write refuses a missing (401) or wrong (403) token and changes nothing."""

    async def test_every_ops_write(
        self, client: httpx.AsyncClient, system: Any, guard_database: str
    ) -> None:
        from tests.integration.service.injection import diverge

        app = client._transport.app  # type: ignore[attr-defined]
        writes = ops_writes(app)
        assert ("PUT", "/api/flags/{domain}") in writes
        assert {p for m, p in writes if p.startswith("/api/divergences")} >= {
            "/api/divergences/{signature}/ignore", "/api/divergences/{signature}/reopen",
            "/api/divergences/{signature}/fixed",
        }  # fmt: skip
        player = (await client.get("/api/players", params={"limit": 1})).json()[0]
        diverge(system, player["player_id"])
        await system.divergences.flush()
        await system.attribution.flush()  # the counts of those calls, written now
        signature = (await system.divergences.groups(limit=1))[0].signature
        values = {"domain": "player", "signature": signature}
        body = {"mode": "shadow", "reason": "should be refused"}
        before = await snapshot(guard_database)
        for method, path in writes:
            target = path.format(**values)
            for headers, status in (({}, 401), (WRONG, 403)):
                refused = await client.request(method, target, json=body, headers=headers)
                assert refused.status_code == status, (method, path, refused.text)
        assert await snapshot(guard_database) == before
        ok = await client.put(
            "/api/flags/item", json={"mode": "legacy", "reason": "t"}, headers=ALICE
        )
        assert ok.status_code == 200


def string_params(spec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every string parameter of the game API."""
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/") or path.startswith(OPS_PREFIXES):
            continue
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if _is_string(param.get("schema", {})):
                    found.append((method.upper(), path, param["in"], param["name"]))
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            body = schemas[ref["schema"]["$ref"].rsplit("/", 1)[1]] if ref else {}
            for name, prop in body.get("properties", {}).items():
                if _is_string(prop) and prop.get("format") not in ("date-time",):
                    found.append((method.upper(), path, "body", name))
    return found


def _is_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("type") == "string" or "enum" in o for o in options)


async def base_requests(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """A valid request for each game API operation that has a string parameter."""
    player = (await client.get("/api/players", params={"limit": 1, "offset": 2})).json()[0]
    room = player["current_room_id"]
    container = (await client.post("/api/containers", json={
        "source_type": "environment", "room_id": room})).json()  # fmt: skip
    conn = await asyncpg.connect(url)
    try:
        prototype = await conn.fetchval("SELECT prototype_id FROM item_prototypes LIMIT 1")
    finally:
        await conn.close()
    item = str(uuid.uuid4())
    await client.post("/api/items", json={"item_instance_id": item, "prototype_id": prototype})
    path = {"player_id": player["player_id"], "room_id": room, "name": player["name"],
            "field": "max_health", "container_id": container["container_id"],
            "item_instance_id": item}  # fmt: skip
    bodies = {
        ("POST", "/api/players"): {"name": "Injected", "current_room_id": room},
        ("PUT", "/api/players/{player_id}"): player,
        ("POST", "/api/containers"): {"source_type": "environment", "room_id": room},
        ("POST", "/api/items"): {"item_instance_id": "new", "prototype_id": prototype},
        ("POST", "/api/players/{player_id}/damage"): {"amount": 1, "damage_type": "fire"},
        ("POST", "/api/legacy/players/{player_id}/damage"): {"amount": 1, "damage_type": "x"},
        ("POST", "/api/players/{player_id}/experience"): {"amount": 1, "source": "api"},
        ("POST", "/api/players/{player_id}/stats/{field}"): {"delta": 0, "reason": "r"},
        ("POST", "/api/containers/{container_id}/items"): {"item_instance_id": item},
        ("PATCH", "/api/containers/{container_id}"): {"lock_state": "locked"},
    }
    return {"path": path, "query": {"owner_type": "none", "owner_id": "x"}, "bodies": bodies}


class TestInjectionIsData:
    """Injection strings in every string parameter are stored verbatim or refused, never run."""

    async def test_every_game_api_string_parameter(
        self, client: httpx.AsyncClient, guard_database: str
    ) -> None:
        app = client._transport.app  # type: ignore[attr-defined]
        targets = string_params(app.openapi())
        assert len(targets) >= 20
        base = await base_requests(client, guard_database)
        before = await snapshot(guard_database)
        created: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        for method, path, where, name in targets:
            for payload in PAYLOADS:
                response = await send(client, base, method, path, where, name, payload)
                statuses[response.status_code] += 1
                assert response.status_code < 500, (method, path, name, payload, response.text)
                if response.status_code < 300:
                    for table in CREATES.get((method, path), ()):
                        created[table] += 1
                    for table in DELETES.get((method, path), ()):
                        created[table] -= 1
                    await stored_verbatim(client, method, path, where, name, payload, response)
        after = await snapshot(guard_database)
        assert after.keys() == before.keys()
        for table, count in before.items():
            if not BOOKKEEPING.match(table):
                assert after[table] == count + created[table], table
        assert statuses[201] > 0 and any(400 <= s < 500 for s in statuses)


async def send(
    client: httpx.AsyncClient, base: dict[str, Any], method: str, path: str, where: str,
    name: str, payload: str,
) -> httpx.Response:  # fmt: skip
    params = dict(base["path"])
    query = dict(base["query"]) if path == "/api/items" else None
    body = base["bodies"].get((method, path))
    body = dict(body) if body is not None else None
    if where == "path":
        params[name] = payload
    elif where == "query" and query is not None:
        query[name] = payload
    elif where == "body" and body is not None:
        body[name] = payload
        if (method, path) == ("POST", "/api/items") and name != "item_instance_id":
            body["item_instance_id"] = str(uuid.uuid4())
    url = re.sub(r"\{(\w+)\}", lambda m: _quote(params[m.group(1)]), path)
    return await client.request(method, url, params=query, json=body)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


async def stored_verbatim(
    client: httpx.AsyncClient, method: str, path: str, where: str, name: str, payload: str,
    response: httpx.Response,
) -> None:  # fmt: skip
    """A created or updated free-text field reads back exactly as sent."""
    if where != "body" or method not in ("POST", "PUT") or not response.content:
        return
    body = response.json()
    if isinstance(body, dict) and name in body and isinstance(body[name], str):
        assert body[name] == payload, (path, name)


class TestCliInjection:
    """Injection strings on the command line are refused with exit 2 or stored as data."""

    # Four of the payloads: each run is a child process. A NUL cannot be an argv string.
    @pytest.mark.parametrize("payload", PAYLOADS[:4])
    async def test_flags_set(self, system: Any, guard_database: str, payload: str) -> None:
        await system.attribution.flush()  # the counts of earlier calls, written now
        before = await snapshot(guard_database)
        as_domain = run(guard_database, "flags", "set", payload, "shadow", "--reason", "r")
        as_mode = run(guard_database, "flags", "set", "item", payload, "--reason", "r")
        as_history = run(guard_database, "flags", "history", payload)
        assert (as_domain.returncode, as_mode.returncode, as_history.returncode) == (2, 2, 2)
        assert await snapshot(guard_database) == before
        stored = run(guard_database, "flags", "set", "item", "legacy", "--reason", payload,
                     "--actor", payload, "--json")  # fmt: skip
        assert stored.returncode == 0, stored.stderr
        latest = run(guard_database, "flags", "history", "item", "--limit", "1", "--json")
        change = json.loads(latest.stdout)[0]
        assert (change["reason"], change["actor"]) == (payload.strip(), payload.strip())


class TestRedactionEndToEnd:
    """Configured fields never leave the process: not in exemplars, pages, or log events."""

    async def test_secret_fields_redacted(self, client: httpx.AsyncClient, system: Any) -> None:
        from structlog.testing import capture_logs

        from shadow.observation import Observation

        secret_mail, secret_hash = "alice@example.invalid", "pbkdf2$secret-hash-value"
        operation = system.router.registry.get("get_player_by_id")
        primary = {"name": "Ann", "email": secret_mail, "password_hash": secret_hash, "hp": 9}
        shadow = {**primary, "hp": 8, "email": "other@example.invalid"}
        with capture_logs() as logs:
            result = system.shadow.engine.observe(
                operation,
                Observation("legacy", primary, None, 0.001),
                Observation("async", shadow, None, 0.001),
                mode="shadow",
                inputs={"player_id": "p-1", "email": secret_mail},
            )
            await system.divergences.flush()
        signature = system.shadow.engine.divergence(result, {}).signature
        detail = (await client.get(f"/api/divergences/{signature}")).text
        page = (await client.get(f"/dashboard/divergences/{signature}")).text
        for text in (detail, page, repr(logs)):
            assert secret_mail not in text and secret_hash not in text
            assert "other@example.invalid" not in text
        assert "[redacted]" in detail
