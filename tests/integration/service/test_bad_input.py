"""Bad input is a 4xx with a message that names the problem, never a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="package")]


class TestBadInput:
    """Malformed ids, negative amounts, unknown fields and names too long are refused."""

    async def test_malformed_uuid(self, client: httpx.AsyncClient) -> None:
        for path in ("/api/players/not-a-uuid", "/api/legacy/players/123", "/api/containers/x"):
            response = await client.get(path)
            assert response.status_code == 422, path
            assert "uuid" in response.text.lower()

    async def test_negative_amounts(self, client: httpx.AsyncClient, player: dict) -> None:
        pid = player["player_id"]
        for action in ("damage", "heal", "experience"):
            response = await client.post(f"/api/players/{pid}/{action}", json={"amount": -5})
            assert response.status_code == 422, action
            assert "greater than or equal to 0" in response.text

    async def test_amount_of_the_wrong_type(self, client: httpx.AsyncClient, player: dict) -> None:
        response = await client.post(
            f"/api/players/{player['player_id']}/damage", json={"amount": "lots"}
        )
        assert response.status_code == 422

    async def test_unknown_stat_field(self, client: httpx.AsyncClient, player: dict) -> None:
        response = await client.post(
            f"/api/players/{player['player_id']}/stats/max_health; DROP TABLE players",
            json={"delta": 1},
        )
        assert response.status_code == 422
        assert "unknown stat field" in response.json()["detail"]

    async def test_name_too_long(self, client: httpx.AsyncClient, player: dict) -> None:
        body = {"name": "x" * 51, "current_room_id": player["current_room_id"]}
        response = await client.post("/api/players", json=body)
        assert response.status_code == 422
        assert "at most 50 characters" in response.text

    async def test_blank_name(self, client: httpx.AsyncClient, player: dict) -> None:
        body = {"name": "   ", "current_room_id": player["current_room_id"]}
        assert (await client.post("/api/players", json=body)).status_code == 422

    async def test_unknown_room_or_profession(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        room = await client.post(
            "/api/players", json={"name": "Nowhere", "current_room_id": "nope"}
        )
        prof = await client.post(
            "/api/players",
            json={
                "name": "Noprof",
                "current_room_id": player["current_room_id"],
                "profession_id": 77,
            },
        )
        assert (room.status_code, prof.status_code) == (422, 422)
        assert "no room" in room.json()["detail"] and "no profession" in prof.json()["detail"]

    async def test_unknown_body_field(self, client: httpx.AsyncClient, player: dict) -> None:
        response = await client.post(
            f"/api/players/{player['player_id']}/heal", json={"amount": 1, "bonus": 9}
        )
        assert response.status_code == 422
        assert "bonus" in response.text

    async def test_out_of_range_stats_on_save(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        body = {**player, "stats": {**player["stats"], "strength": 500}}
        response = await client.put(f"/api/players/{player['player_id']}", json=body)
        assert response.status_code == 422

    async def test_path_and_body_ids_must_match(
        self, client: httpx.AsyncClient, player: dict
    ) -> None:
        response = await client.put(f"/api/players/{uuid.uuid4()}", json=player)
        assert response.status_code == 422

    async def test_writes_on_a_missing_player_are_404(self, client: httpx.AsyncClient) -> None:
        missing = uuid.uuid4()
        damage = await client.post(f"/api/players/{missing}/damage", json={"amount": 1})
        stat = await client.post(f"/api/players/{missing}/stats/fear", json={"delta": 1})
        delete = await client.delete(f"/api/players/{missing}")
        assert (damage.status_code, stat.status_code, delete.status_code) == (404, 404, 404)

    async def test_bad_container_and_item_input(self, client: httpx.AsyncClient) -> None:
        no_room = await client.post("/api/containers", json={"source_type": "environment"})
        bad_kind = await client.post("/api/containers", json={"source_type": "bag"})
        bad_qty = await client.post(
            "/api/items",
            json={"item_instance_id": "q", "prototype_id": "key.brass", "quantity": 0},
        )
        missing = await client.post(
            f"/api/containers/{uuid.uuid4()}/items", json={"item_instance_id": "nothing"}
        )
        assert no_room.status_code == 422, no_room.text
        assert (bad_kind.status_code, bad_qty.status_code) == (422, 422)
        assert missing.status_code == 404, missing.text
