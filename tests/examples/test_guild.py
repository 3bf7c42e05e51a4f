"""The guild example: another team's domain routed, shadowed and watched through public API.

Every test drives ``examples.guild`` as its team would: the system from
``open_guild_system``, flags set through the system, calls through the router and the sync
facade, divergences read back from the store.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import psycopg2
import pytest

from dualpath import Skip, System
from examples.guild.errors import GuildNotFound, InvalidAmount
from examples.guild.schema import Guild
from examples.guild.system import open_guild_system
from tests.examples.conftest import STARTING_GOLD, execute, gold_of, guild_settings

pytestmark = pytest.mark.integration

MODES = ("legacy", "shadow", "live", "async")
#: Calls per mode in the mixed workload: enough for every operation to be compared often.
CALLS = 120


async def set_mode(system: System, mode: str) -> None:
    """Put the guild domain in ``mode`` (a jump, forced) and wait until this process sees it."""
    await system.flags.set("guild", mode, reason="test", actor="tests", forced=True)
    for _ in range(200):
        if system.flags.mode_for("guild", None, None) == mode:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the guild flag never became {mode}")


async def mixed_calls(system: System, ids: list[str], rng: random.Random) -> dict[str, int]:
    """``CALLS`` reads and deposits through the router and the sync facade; gold deposited."""
    deposited = dict.fromkeys(ids, 0)
    for number in range(CALLS):
        guild_id, amount = rng.choice(ids), rng.randint(1, 50)
        choice = number % 4
        if choice == 0:
            guild = await system.router.deposit_gold(guild_id, amount)
            deposited[guild_id] += amount
            assert guild.guild_id == guild_id
        elif choice == 1:
            await asyncio.to_thread(system.sync.deposit_gold, guild_id, amount)
            deposited[guild_id] += amount
        elif choice == 2:
            assert (await system.router.get_guild(guild_id)).guild_id == guild_id
        else:
            listed = await asyncio.to_thread(system.sync.list_guilds)
            assert sorted(g.guild_id for g in listed) == sorted(ids)
    return deposited


async def divergences(system: System) -> list[Any]:
    """The guild's divergence groups, once every comparison has been stored."""
    await system.shadow_runner.drain()
    await system.divergences.flush()
    return await system.divergences.groups(domain="guild")


class TestModes:
    """Each mode answers right, a correct async path never diverges, gold moves exactly once."""

    @pytest.mark.parametrize("mode", MODES)
    async def test_mixed_calls_in_each_mode(
        self, system: System, guilds: list[str], guild_database: str, mode: str
    ) -> None:
        await set_mode(system, mode)
        runner = system.shadow_runner
        compared_before, skipped_before = runner.compared, runner.skipped.total()
        deposited = await mixed_calls(system, guilds, random.Random(mode))
        assert await divergences(system) == []
        for guild_id in guilds:
            assert gold_of(guild_database, guild_id) == STARTING_GOLD + deposited[guild_id]
        compared = runner.compared - compared_before
        skipped = runner.skipped.total() - skipped_before
        if mode in ("shadow", "live"):
            # each call is compared or skipped for a stated reason (a read racing the
            # comparison of a write to the same guild); most are compared
            assert compared + skipped == CALLS, (compared, runner.skipped)
            assert compared >= CALLS // 3, (compared, runner.skipped)
        else:
            assert compared == skipped == 0

    async def test_the_example_paths_answer_alike_outside_the_router(
        self, system: System, guilds: list[str]
    ) -> None:
        legacy = await asyncio.to_thread(system.legacy.get_guild, guilds[0])  # type: ignore[attr-defined]
        new = await system.async_layer.get_guild(guilds[0])  # type: ignore[attr-defined]
        assert legacy == new == Guild(guilds[0], "guild 0", STARTING_GOLD)


class TestErrors:
    """Refusals and database errors compare by meaning, not by driver."""

    async def test_a_malformed_id_is_the_same_error_on_both_drivers(
        self, system: System, guilds: list[str]
    ) -> None:
        await set_mode(system, "shadow")
        with pytest.raises(psycopg2.Error) as raised:
            await system.router.get_guild("not-a-uuid")
        assert raised.value.pgcode == "22P02"
        assert await divergences(system) == []
        assert system.shadow_runner.compared >= 1

    async def test_refusals_are_compared_and_agree(self, system: System, guilds: list[str]) -> None:
        await set_mode(system, "live")
        with pytest.raises(GuildNotFound):
            await system.router.deposit_gold(str(uuid.uuid4()), 5)
        with pytest.raises(InvalidAmount):
            await system.router.deposit_gold(guilds[0], -5)
        assert await divergences(system) == []

    async def test_a_key_the_capture_cannot_cast_is_a_counted_skip(
        self, system: System, guilds: list[str]
    ) -> None:
        await set_mode(system, "shadow")
        before = system.shadow_runner.skipped[Skip.CAPTURE_FAILED]
        with pytest.raises(psycopg2.Error):
            await system.router.deposit_gold("not-a-uuid", 5)
        assert system.shadow_runner.skipped[Skip.CAPTURE_FAILED] == before + 1
        assert await divergences(system) == []

    async def test_a_restore_that_fails_is_a_counted_skip(
        self, system: System, guilds: list[str], guild_database: str
    ) -> None:
        """A trigger refuses the rows the shadow would restore: nothing is compared."""
        execute(guild_database, REFUSE_INSERTS)
        try:
            await set_mode(system, "shadow")
            before = system.shadow_runner.skipped[Skip.RESTORE_FAILED]
            await system.router.deposit_gold(guilds[0], 5)
            assert await divergences(system) == []
        finally:
            execute(guild_database, "DROP TRIGGER guilds_refuse_inserts ON guilds")
        assert system.shadow_runner.skipped[Skip.RESTORE_FAILED] == before + 1
        assert gold_of(guild_database, guilds[0]) == STARTING_GOLD + 5


#: A trigger that refuses every insert into ``guilds`` (the restore upserts).
REFUSE_INSERTS = """
CREATE OR REPLACE FUNCTION guilds_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'no inserts here' USING ERRCODE = 'P0001'; END $$;
CREATE TRIGGER guilds_refuse_inserts BEFORE INSERT ON guilds
FOR EACH ROW EXECUTE FUNCTION guilds_refuse_insert();
"""


class TestPlantedBug:
    """An async deposit that adds one too many is caught on every compared deposit."""

    @pytest.mark.parametrize("mode", ["shadow", "live"])
    async def test_the_bug_is_recorded_and_gold_moves_once(
        self, guild_database: str, guilds: list[str], mode: str
    ) -> None:
        settings = guild_settings(guild_database, shadow_timeout_s=10.0)
        async with open_guild_system(settings, bonus=1) as system:
            await set_mode(system, mode)
            for _ in range(10):
                await system.router.deposit_gold(guilds[0], 7)
                # one at a time: a deposit arriving while the last one's shadow runs would
                # preempt it (the primary first), and that one would not be compared
                await system.shadow_runner.drain()
            found = await divergences(system)
            runner = system.shadow_runner
            compared, skipped = runner.compared, runner.skipped.total()
        answered_by_async = 10 if mode == "live" else 0  # live: the buggy path answers
        assert gold_of(guild_database, guilds[0]) == STARTING_GOLD + 70 + answered_by_async
        assert [g.operation for g in found] == ["deposit_gold"]
        # every compared deposit diverged
        assert compared + skipped == 10 and compared >= 8, runner.skipped
        assert found[0].count == compared
        assert found[0].kind == "result_mismatch"


class TestOperations:
    """The CLI and the dashboard show the guild's domain, and only its own."""

    async def test_the_dashboard_and_api_show_the_guild_domain(self, system: System) -> None:
        import httpx

        from app.service import create_app

        app = create_app(system)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
                flags = (await http.get("/api/flags")).json()
                page = await http.get("/dashboard")
        assert [f["domain"] for f in flags] == ["guild"]
        assert page.status_code == 200 and "guild" in page.text and "player" not in page.text
