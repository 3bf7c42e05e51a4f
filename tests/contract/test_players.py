"""Player reads and writes on both paths, checked against the stored rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from persistence.errors import NotFoundError, ValidationError
from persistence.models import Stats
from tests.contract.adapters import PathUnderTest
from tests.contract.conftest import MISSING
from tests.contract.expect import as_player, player_matches_row, rejected
from tests.contract.stored import StoredState

pytestmark = pytest.mark.contract

MALFORMED = ["not-a-uuid", "", "1234", "00000000-0000-4000-8000-00000000000z"]


class TestGetPlayer:
    """Lookups by id, name and user id return the stored player, or None."""

    async def test_by_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.players():
            player_matches_row(await path.call("get_player_by_id", row["player_id"]), row)
            player_matches_row(await path.call("get_player_by_id", str(row["player_id"])), row)

    async def test_by_name(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.players():
            player_matches_row(await path.call("get_player_by_name", row["name"]), row)
        assert await path.call("get_player_by_name", "Nyarlathotep") is None

    async def test_unstorable_name(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, ValidationError, "get_player_by_name", "Wil\x00bur")

    async def test_by_user_id(self, path: PathUnderTest, stored: StoredState) -> None:
        for row in stored.players():
            player_matches_row(await path.call("get_player_by_user_id", row["user_id"]), row)
        assert await path.call("get_player_by_user_id", MISSING) is None

    async def test_missing_is_none(self, path: PathUnderTest, stored: StoredState) -> None:
        assert await path.call("get_player_by_id", MISSING) is None
        assert await path.call("get_player_by_id", str(MISSING)) is None

    @pytest.mark.parametrize("bad", MALFORMED)
    async def test_malformed_id(self, path: PathUnderTest, stored: StoredState, bad: str) -> None:
        await rejected(path, stored, ValidationError, "get_player_by_id", bad)
        await rejected(path, stored, ValidationError, "get_player_by_user_id", bad)


class TestLists:
    """Lists are ordered by lower(name), then player_id; batches keep the order asked for."""

    async def test_list_players(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.players()
        listed = await path.call("list_players")
        assert [p.player_id for p in listed] == [r["player_id"] for r in rows]
        for player, row in zip(listed, rows, strict=True):
            player_matches_row(player, row)

    @pytest.mark.parametrize(("limit", "offset"), [(5, 0), (5, 3), (1, 19), (100, 18), (3, 20)])
    async def test_pages(
        self, path: PathUnderTest, stored: StoredState, limit: int, offset: int
    ) -> None:
        expected = [r["player_id"] for r in stored.players()][offset : offset + limit]
        page = await path.call("list_players", limit=limit, offset=offset)
        assert [p.player_id for p in page] == expected

    async def test_in_room(self, path: PathUnderTest, stored: StoredState) -> None:
        ids = [r["player_id"] for r in stored.players()]
        stored.execute(
            "UPDATE players SET current_room_id = 'dunwich_003' WHERE player_id = ANY(%s)",
            (ids[:4],),
        )
        rows = stored.players("current_room_id = %s", ("dunwich_003",))
        assert len(rows) >= 4
        in_room = await path.call("get_players_in_room", "dunwich_003")
        assert [p.player_id for p in in_room] == [r["player_id"] for r in rows]
        assert await path.call("get_players_in_room", "yuggoth_000") == []

    async def test_batch(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.players()
        asked = [rows[5]["player_id"], MISSING, str(rows[2]["player_id"]), rows[5]["player_id"]]
        batch = await path.call("get_players_batch", asked)
        assert [p.player_id for p in batch] == [rows[5]["player_id"], rows[2]["player_id"]]
        player_matches_row(batch[1], rows[2])
        assert await path.call("get_players_batch", []) == []

    @pytest.mark.parametrize("bad", [["not-a-uuid"], "abc", str(MISSING), None])
    async def test_batch_rejects(
        self, path: PathUnderTest, stored: StoredState, bad: object
    ) -> None:
        await rejected(path, stored, ValidationError, "get_players_batch", bad)


class TestSavePlayer:
    """save_player stores every field; bad players are rejected and nothing is written."""

    async def test_saves_every_field(self, path: PathUnderTest, stored: StoredState) -> None:
        row = stored.players()[0]
        player = as_player(row)
        player.name = "Asenath Waite"
        player.current_room_id = "innsmouth_004"
        player.profession_id = 4
        player.stats = dataclasses.replace(player.stats, current_health=-3, sanity=17, fear=60)
        player.inventory = [{"prototype_id": "tome.necronomicon", "quantity": 1}]
        player.equipped = {"neck": "item_elder_sign"}
        player.experience_points, player.level, player.is_admin = 950, 4, True
        assert await path.call("save_player", player) is None
        saved = stored.player(player.player_id)
        assert saved is not None
        assert (saved["name"], saved["current_room_id"], saved["profession_id"]) == (
            "Asenath Waite",
            "innsmouth_004",
            4,
        )
        assert saved["stats"] == {**row["stats"], "current_health": -3, "sanity": 17, "fear": 60}
        assert saved["inventory"] == [{"prototype_id": "tome.necronomicon", "quantity": 1}]
        assert saved["equipped"] == {"neck": "item_elder_sign"}
        assert (saved["experience_points"], saved["level"], saved["is_admin"]) == (950, 4, True)
        assert path.published == []

    async def test_saved_player_reads_back(self, path: PathUnderTest, stored: StoredState) -> None:
        player = as_player(stored.players()[1])
        player.inventory = [{"prototype_id": "key.brass", "quantity": 7}] * 20
        await path.call("save_player", player)
        again = await path.call("get_player_by_id", player.player_id)
        assert again.inventory == player.inventory
        player_matches_row(again, stored.player(player.player_id) or {})

    async def test_save_players(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.players()
        first, second = as_player(rows[0]), as_player(rows[1])
        first.stats.sanity, second.experience_points, second.level = 3, 400, 3
        await path.call("save_players", [first, second])
        assert (stored.player(first.player_id) or {})["stats"]["sanity"] == 3
        saved = stored.player(second.player_id) or {}
        assert (saved["experience_points"], saved["level"]) == (400, 3)

    async def test_save_players_is_all_or_nothing(
        self, path: PathUnderTest, stored: StoredState
    ) -> None:
        rows = stored.players()
        good, bad = as_player(rows[0]), as_player(rows[1])
        good.stats.sanity = 3
        bad.name = "x" * 51
        await rejected(path, stored, ValidationError, "save_players", [good, bad])


def _bad_players() -> list[tuple[str, dict[str, object]]]:
    return [
        ("name over 50", {"name": "N" * 51}),
        ("blank name", {"name": "   "}),
        ("NUL in name", {"name": "Wil\x00bur"}),
        ("21 stacks", {"inventory": [{"prototype_id": "key.brass", "quantity": 1}] * 21}),
        ("stack without prototype", {"inventory": [{"quantity": 2}]}),
        ("stack with extra key", {"inventory": [{"prototype_id": "key.brass", "hue": "red"}]}),
        ("stack quantity 0", {"inventory": [{"prototype_id": "key.brass", "quantity": 0}]}),
        ("inventory not a list", {"inventory": {"prototype_id": "key.brass"}}),
        ("bool stat", {"stats": Stats(strength=True)}),
        ("float stat", {"stats": Stats(sanity=50.5)}),  # type: ignore[arg-type]
        ("hp below -10", {"stats": Stats(current_health=-11)}),
        ("hp above max", {"stats": Stats(current_health=101, max_health=100)}),
        ("string xp", {"experience_points": "100"}),
        ("negative xp", {"experience_points": -1}),
        ("malformed player id", {"player_id": "not-a-uuid"}),
    ]


class TestSavePlayerRejects:
    """Each bad field is a ValidationError; nothing stored, nothing published."""

    @pytest.mark.parametrize(
        ("case", "changes"), _bad_players(), ids=[c for c, _ in _bad_players()]
    )
    async def test_bad_field(
        self, path: PathUnderTest, stored: StoredState, case: str, changes: dict[str, object]
    ) -> None:
        player = dataclasses.replace(as_player(stored.players()[3]), **changes)
        await rejected(path, stored, ValidationError, "save_player", player)

    async def test_duplicate_name_any_case(self, path: PathUnderTest, stored: StoredState) -> None:
        rows = stored.players()
        player = as_player(rows[0])
        player.name = rows[1]["name"].upper()
        await rejected(path, stored, ValidationError, "save_player", player)
        player.name = rows[1]["name"].lower()
        await rejected(path, stored, ValidationError, "save_players", [player])


class TestDeletePlayer:
    """delete_player removes the row; a missing player is NotFoundError."""

    async def test_deletes(self, path: PathUnderTest, stored: StoredState) -> None:
        victim = stored.players()[4]["player_id"]
        count = stored.value("SELECT count(*) FROM players")
        assert await path.call("delete_player", victim) is None
        assert stored.player(victim) is None
        assert stored.value("SELECT count(*) FROM players") == count - 1
        assert await path.call("get_player_by_id", victim) is None

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, NotFoundError, "delete_player", MISSING)

    async def test_malformed(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, ValidationError, "delete_player", "nope")


class TestLastActive:
    """update_player_last_active stores the given time, or the database's now."""

    async def test_given_time(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        when = datetime(2025, 10, 31, 23, 59, 1, tzinfo=UTC)
        assert await path.call("update_player_last_active", pid, when) is None
        assert (stored.player(pid) or {})["last_active"] == when
        assert path.published == []

    async def test_now(self, path: PathUnderTest, stored: StoredState) -> None:
        pid = stored.players()[0]["player_id"]
        before = stored.value("SELECT now()")
        await path.call("update_player_last_active", pid)
        after = stored.value("SELECT now()")
        stamped = (stored.player(pid) or {})["last_active"]
        assert before - timedelta(seconds=1) <= stamped <= after + timedelta(seconds=1)

    async def test_missing(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, NotFoundError, "update_player_last_active", MISSING)

    async def test_malformed(self, path: PathUnderTest, stored: StoredState) -> None:
        await rejected(path, stored, ValidationError, "update_player_last_active", "yesterday")


class TestValidateRoom:
    """A missing room moves the player (in memory only) to the right start room."""

    async def test_existing_room(self, path: PathUnderTest, stored: StoredState) -> None:
        player = as_player(stored.players()[0])
        room = player.current_room_id
        assert await path.call("validate_and_fix_player_room", player) is False
        assert player.current_room_id == room

    @pytest.mark.parametrize(
        ("room", "zone"),
        [("innsmouth_vanished_attic", "innsmouth"), ("rlyeh_999", "rlyeh"), ("yuggoth_1", None)],
    )
    async def test_missing_room(
        self, path: PathUnderTest, stored: StoredState, room: str, zone: str | None
    ) -> None:
        first_zone = stored.value("SELECT min(zone_id) FROM zones")
        start = stored.value(
            "SELECT start_room_id FROM zones WHERE zone_id = %s", (zone or first_zone,)
        )
        row = stored.players()[0]
        player = as_player(row)
        player.current_room_id = room
        before = stored.dump()
        assert await path.call("validate_and_fix_player_room", player) is True
        assert player.current_room_id == start
        assert stored.dump() == before
