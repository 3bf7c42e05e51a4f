"""``routing.services``: setting the calling service, carrying it, and bounding the names."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from routing.services import (
    OTHER,
    UNATTRIBUTED,
    InvalidServiceName,
    ServiceNames,
    ServiceThread,
    calling_service,
    carry_context,
    check_service_name,
    current_service,
)

pytestmark = pytest.mark.unit


class TestNames:
    """Names are identifiers; the two reserved labels and anything else are refused."""

    @pytest.mark.parametrize("name", ["combat_service", "npc.spawning", "api-v2", "a"])
    def test_valid(self, name: str) -> None:
        assert check_service_name(name) == name

    @pytest.mark.parametrize(
        "name", ["", "Combat", "1st", "has space", "x" * 65, "unattributed", "other", None, 3]
    )
    def test_invalid(self, name: object) -> None:
        with pytest.raises(InvalidServiceName):
            check_service_name(name)

    def test_a_bad_name_sets_nothing(self) -> None:
        with pytest.raises(InvalidServiceName):
            calling_service("not valid!")
        assert current_service() is None


class TestBlocks:
    """``with``, ``async with`` and nesting restore what was there before."""

    def test_nested_blocks(self) -> None:
        assert current_service() is None
        with calling_service("combat_service"):
            assert current_service() == "combat_service"
            with calling_service("health_service"):
                assert current_service() == "health_service"
            assert current_service() == "combat_service"
        assert current_service() is None

    def test_restored_after_an_exception(self) -> None:
        with pytest.raises(KeyError), calling_service("combat_service"):
            raise KeyError("x")
        assert current_service() is None

    async def test_async_block_and_tasks(self) -> None:
        async def seen() -> str | None:
            await asyncio.sleep(0)
            return current_service()

        async with calling_service("user_manager"):
            task = asyncio.create_task(seen())  # a task copies the context it is made in
        assert await task == "user_manager"
        assert current_service() is None


class TestDecorator:
    """Functions, coroutine functions and classes run as the service."""

    def test_function(self) -> None:
        @calling_service("combat_service")
        def hit() -> str | None:
            return current_service()

        assert hit() == "combat_service" and current_service() is None
        assert hit.__name__ == "hit"

    async def test_coroutine_function(self) -> None:
        @calling_service("combat_service")
        async def hit() -> str | None:
            await asyncio.sleep(0)
            return current_service()

        assert await hit() == "combat_service" and current_service() is None

    async def test_class(self) -> None:
        @calling_service("player_death_service")
        class Deaths:
            def bury(self) -> str | None:
                return current_service()

            async def mourn(self) -> str | None:
                return current_service()

            def _private(self) -> str | None:
                return current_service()

        deaths = Deaths()
        assert deaths.bury() == "player_death_service"
        assert await deaths.mourn() == "player_death_service"
        assert deaths._private() is None  # only public methods are wrapped

    def test_not_a_target(self) -> None:
        with pytest.raises(TypeError):
            calling_service("combat_service")(42)


class TestThreads:
    """A plain thread starts empty; ``ServiceThread`` and ``carry_context`` carry the service."""

    def run_in(self, make: type[threading.Thread]) -> list[str | None]:
        seen: list[str | None] = []
        with calling_service("health_service"):
            thread = make(target=lambda: seen.append(current_service()))
            thread.start()
        thread.join()
        return seen

    def test_plain_thread_is_unattributed(self) -> None:
        assert self.run_in(threading.Thread) == [None]

    def test_service_thread_carries_it(self) -> None:
        assert self.run_in(ServiceThread) == ["health_service"]

    def test_carry_context_into_a_pool(self) -> None:
        with ThreadPoolExecutor(2) as pool:
            plain = pool.submit(current_service)
            with calling_service("exploration_service"):
                carried = pool.submit(carry_context(current_service))
            assert (plain.result(), carried.result()) == (None, "exploration_service")


class TestServiceNames:
    """Configured names, then the first ``cap`` seen; beyond that ``other``."""

    def test_labels(self) -> None:
        names = ServiceNames(["combat_service"], cap=2)
        assert names.label(None) == UNATTRIBUTED
        assert names.label("combat_service") == "combat_service"
        assert [names.label(f"s{i}") for i in range(4)] == ["s0", "s1", OTHER, OTHER]
        assert names.label("s0") == "s0" and names.full
        assert names.known() == ["combat_service", "s0", "s1", UNATTRIBUTED, OTHER]

    def test_ten_thousand_names_stay_bounded(self) -> None:
        names = ServiceNames(["a", "b"], cap=5)
        labels = {names.label(f"svc_{i}") for i in range(10_000)}
        assert len(labels) == 6 and OTHER in labels
        assert len(names.known()) == 2 + 5 + 2

    def test_invalid_names_from_a_view_are_other(self) -> None:
        names = ServiceNames(cap=10)
        assert names.label("Not Valid") == OTHER and names.label("unattributed") == OTHER
        assert names.known() == [UNATTRIBUTED, OTHER]

    def test_bad_configuration(self) -> None:
        with pytest.raises(InvalidServiceName):
            ServiceNames(["Bad Name"])
        with pytest.raises(ValueError, match="cap"):
            ServiceNames(cap=-1)

    def test_admission_is_thread_safe(self) -> None:
        names = ServiceNames(cap=50)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(names.label, [f"n{i % 200}" for i in range(4000)]))
        assert len(names.known()) == 52


class TestSettings:
    """``DUALPATH_SERVICES`` is checked when the settings are read."""

    def test_configured_names(self) -> None:
        from app.settings import Settings

        settings = Settings(services=" combat_service, user_manager ,")
        assert settings.service_names == ("combat_service", "user_manager")

    def test_a_bad_name_is_refused(self) -> None:
        from pydantic import ValidationError

        from app.settings import Settings

        with pytest.raises(ValidationError, match="not valid"):
            Settings(services="combat_service,Not Valid")
