"""The game API end to end: every endpoint through the router on a real database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


async def new_player(client: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    """Create a player in the first room; return the response body."""
    rooms = (await client.get("/api/rooms")).json()
    body = {"name": name or f"Tester{uuid.uuid4().hex[:8]}", "current_room_id": rooms[0]["room_id"]}
    response = await client.post("/api/players", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class TestPlayers:
    """Players are read, created, saved, hurt, healed, taught and deleted through the router."""

    async def test_get_by_id_and_by_name(self, client: httpx.AsyncClient, player: dict) -> None:
        by_id = await client.get(f"/api/players/{player['player_id']}")
        by_name = await client.get(f"/api/players/by-name/{player['name'].upper()}")
        assert by_id.json() == player
        assert by_name.json()["player_id"] == player["player_id"]

    async def test_players_in_room(self, client: httpx.AsyncClient, player: dict) -> None:
        response = await client.get(f"/api/rooms/{player['current_room_id']}/players")
        assert player["player_id"] in [p["player_id"] for p in response.json()]

    async def test_create_then_delete(self, client: httpx.AsyncClient) -> None:
        created = await new_player(client)
        assert created["level"] == 1 and created["stats"]["current_health"] == 100
        assert (await client.delete(f"/api/players/{created['player_id']}")).status_code == 204
        assert (await client.get(f"/api/players/{created['player_id']}")).status_code == 404

    async def test_a_taken_name_is_a_conflict(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        body = {"name": player["name"], "current_room_id": player["current_room_id"]}
        response = await client.post("/api/players", json=body)
        assert response.status_code == 409
        assert "taken" in response.json()["detail"]

    async def test_save_changes_the_stored_player(self, client: httpx.AsyncClient) -> None:
        created = await new_player(client)
        changed = {**created, "stats": {**created["stats"], "position": "sitting"}}
        response = await client.put(f"/api/players/{created['player_id']}", json=changed)
        assert response.status_code == 200, response.text
        stored = (await client.get(f"/api/players/{created['player_id']}")).json()
        assert stored["stats"]["position"] == "sitting"

    async def test_damage_heal_and_experience(self, client: httpx.AsyncClient) -> None:
        pid = (await new_player(client))["player_id"]
        hurt = await client.post(f"/api/players/{pid}/damage", json={"amount": 30})
        healed = await client.post(f"/api/players/{pid}/heal", json={"amount": 10})
        taught = await client.post(f"/api/players/{pid}/experience", json={"amount": 450})
        assert hurt.json()["current_health"] == 70
        assert healed.json()["current_health"] == 80
        assert taught.json()["experience_points"] == 450
        stored = (await client.get(f"/api/players/{pid}")).json()
        assert (stored["stats"]["current_health"], stored["level"]) == (80, 3)

    async def test_change_a_stat(self, client: httpx.AsyncClient) -> None:
        pid = (await new_player(client))["player_id"]
        response = await client.post(f"/api/players/{pid}/stats/fear", json={"delta": 7})
        assert response.json() == {"player_id": pid, "field": "fear", "value": 7}

    async def test_list_is_paged(self, client: httpx.AsyncClient) -> None:
        first = (await client.get("/api/players", params={"limit": 5})).json()
        second = (await client.get("/api/players", params={"limit": 5, "offset": 5})).json()
        assert len(first) == len(second) == 5
        assert not {p["player_id"] for p in first} & {p["player_id"] for p in second}


class TestLegacyCodePath:
    """Plain ``def`` endpoints run in the threadpool and call ``get_persistence()``."""

    async def test_read_through_the_sync_facade(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        response = await client.get(f"/api/legacy/players/{player['player_id']}")
        assert response.status_code == 200
        assert response.json() == player

    async def test_damage_through_the_sync_facade(self, client: httpx.AsyncClient) -> None:
        pid = (await new_player(client))["player_id"]
        response = await client.post(f"/api/legacy/players/{pid}/damage", json={"amount": 15})
        assert response.json()["current_health"] == 85
        stored = (await client.get(f"/api/players/{pid}")).json()
        assert stored["stats"]["current_health"] == 85

    async def test_unknown_player_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/api/legacy/players/{uuid.uuid4()}")
        assert response.status_code == 404


class TestWorld:
    """Rooms, professions, containers and items."""

    async def test_rooms(self, client: httpx.AsyncClient) -> None:
        rooms = (await client.get("/api/rooms")).json()
        one = (await client.get(f"/api/rooms/{rooms[0]['room_id']}")).json()
        assert len(rooms) > 100 and one == rooms[0]
        assert (await client.get("/api/rooms/no_such_room")).status_code == 404

    async def test_professions(self, client: httpx.AsyncClient) -> None:
        listed = (await client.get("/api/professions")).json()
        one = (await client.get(f"/api/professions/{listed[0]['profession_id']}")).json()
        assert one == listed[0]
        assert (await client.get("/api/professions/999")).status_code == 404

    async def test_container_and_item_lifecycle(self, client: httpx.AsyncClient) -> None:
        room = (await client.get("/api/rooms")).json()[0]["room_id"]
        item_id = f"test-{uuid.uuid4().hex[:10]}"
        item = await client.post(
            "/api/items", json={"item_instance_id": item_id, "prototype_id": "key.brass"}
        )
        box = await client.post(
            "/api/containers", json={"source_type": "environment", "room_id": room}
        )
        assert item.status_code == 201 and box.status_code == 201, (item.text, box.text)
        cid = box.json()["container_id"]
        put = await client.post(f"/api/containers/{cid}/items", json={"item_instance_id": item_id})
        assert put.json()["items"] == [item_id]
        locked = await client.patch(f"/api/containers/{cid}", json={"lock_state": "locked"})
        assert locked.json()["lock_state"] == "locked"
        in_room = (await client.get(f"/api/rooms/{room}/containers")).json()
        assert cid in [c["container_id"] for c in in_room]
        refused = await client.delete(f"/api/containers/{cid}/items/{item_id}")
        assert refused.status_code == 422, "a locked container refuses removals"
        await client.patch(f"/api/containers/{cid}", json={"lock_state": "unlocked"})
        taken = await client.delete(f"/api/containers/{cid}/items/{item_id}")
        assert taken.json()["items"] == []
        assert (await client.get(f"/api/items/{item_id}")).json()["prototype_id"] == "key.brass"
        assert (await client.delete(f"/api/containers/{cid}")).status_code == 204
        assert (await client.delete(f"/api/items/{item_id}")).status_code == 204
        assert (await client.get(f"/api/containers/{cid}")).status_code == 404
        assert (await client.get(f"/api/items/{item_id}")).status_code == 404

    async def test_items_of_an_owner(self, client: httpx.AsyncClient, player: dict) -> None:
        item_id = f"test-{uuid.uuid4().hex[:10]}"
        body = {
            "item_instance_id": item_id,
            "prototype_id": "weapon.sword_cane",
            "owner_type": "player",
            "owner_id": player["player_id"],
        }
        assert (await client.post("/api/items", json=body)).status_code == 201
        params = {"owner_type": "player", "owner_id": player["player_id"]}
        owned = (await client.get("/api/items", params=params)).json()
        assert item_id in [i["item_instance_id"] for i in owned]
