"""The legacy unit of work: nothing commits, and no event is published, until commit()."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from persistence.errors import NotFoundError, TransactionAborted, ValidationError
from persistence.events import HPChanged, PlayerLeveledUp, XPGained
from persistence.legacy import PersistenceLayer
from persistence.models import Player
from tests.integration.legacy.conftest import EventLog

pytestmark = pytest.mark.integration

MakePlayer = Callable[..., Player]


def stored_hp(layer: PersistenceLayer, player: Player) -> int:
    """The HP stored for ``player``, read outside any unit of work in this thread."""
    with ThreadPoolExecutor(1) as executor:
        found = executor.submit(layer.get_player, player.player_id).result()
    assert found is not None
    return found.stats.current_health


class TestCommit:
    """commit() makes the writes visible and publishes their events, in order."""

    def test_commit_publishes_collected_events(
        self, layer: PersistenceLayer, make_player: MakePlayer, log: EventLog
    ) -> None:
        log.watch(HPChanged, XPGained, PlayerLeveledUp)
        player = make_player()
        with layer.transaction() as uow:
            layer.damage_player(player, 10)
            layer.gain_experience(player, 100)
            assert log.events == []
            assert [type(e) for e in uow.events] == [HPChanged, XPGained, PlayerLeveledUp]
            uow.commit()
            assert uow.events == []
        assert [type(e) for e in log.events] == [HPChanged, XPGained, PlayerLeveledUp]
        assert stored_hp(layer, player) == 90

    def test_writes_are_invisible_to_other_threads_until_commit(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        with layer.transaction() as uow:
            layer.damage_player(player, 30)
            assert layer.get_player(player.player_id).stats.current_health == 70  # type: ignore[union-attr]
            assert stored_hp(layer, player) == 100
            uow.commit()
        assert stored_hp(layer, player) == 70

    def test_a_unit_of_work_can_continue_after_commit(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        with layer.transaction() as uow:
            layer.damage_player(player, 1)
            uow.commit()
            layer.damage_player(player, 1)
        assert stored_hp(layer, player) == 99


class TestRollback:
    """Rolling back, or leaving without commit, drops the writes and the events."""

    def test_rollback_drops_writes_and_events(
        self, layer: PersistenceLayer, make_player: MakePlayer, log: EventLog
    ) -> None:
        log.watch(HPChanged)
        player = make_player()
        with layer.transaction() as uow:
            layer.damage_player(player, 10)
            uow.rollback()
            assert uow.events == []
        assert stored_hp(layer, player) == 100
        assert log.events == []

    def test_leaving_without_commit_rolls_back(
        self, layer: PersistenceLayer, make_player: MakePlayer, log: EventLog
    ) -> None:
        log.watch(HPChanged)
        player = make_player()
        with layer.transaction():
            layer.damage_player(player, 10)
        assert stored_hp(layer, player) == 100
        assert log.events == []

    def test_an_exception_rolls_back_and_propagates(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        with pytest.raises(KeyError), layer.transaction():
            layer.damage_player(player, 10)
            raise KeyError("boom")
        assert stored_hp(layer, player) == 100

    def test_save_players_is_all_or_nothing(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        first, second = make_player("First"), make_player("Second")
        first.name, second.name = "Renamed", "renamed"
        with pytest.raises(ValueError, match="name already exists"):
            layer.save_players([first, second])
        assert layer.get_player(first.player_id).name == "First"  # type: ignore[union-attr]


class TestScope:
    """A unit of work belongs to one layer and one context."""

    def test_nesting_on_the_same_layer_raises(self, layer: PersistenceLayer) -> None:
        with layer.transaction(), pytest.raises(RuntimeError, match="already open"):
            with layer.transaction():
                pass
        with layer.transaction():
            pass

    def test_an_ended_unit_of_work_refuses_use(self, layer: PersistenceLayer) -> None:
        with layer.transaction() as uow:
            pass
        with pytest.raises(RuntimeError, match="ended"):
            uow.commit()

    def test_another_layer_is_not_captured(
        self, world: str, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        other = PersistenceLayer(world)
        try:
            with layer.transaction(), other.transaction():
                other.damage_player(player, 5)
            assert stored_hp(layer, player) == 100
            with layer.transaction():
                other.damage_player(player, 5)
            assert stored_hp(layer, player) == 95
        finally:
            other.close()

    def test_another_thread_runs_outside_the_unit_of_work(
        self, layer: PersistenceLayer, make_player: MakePlayer, log: EventLog
    ) -> None:
        log.watch(HPChanged)
        player = make_player()
        with layer.transaction(), ThreadPoolExecutor(1) as executor:
            executor.submit(layer.damage_player, player, 5).result()
            assert len(log.events) == 1
        assert stored_hp(layer, player) == 95


class TestFailedStatement:
    """A statement the database refused fails the unit of work until it is rolled back."""

    def test_later_calls_and_commit_raise_transaction_aborted(
        self, layer: PersistenceLayer, make_player: MakePlayer, log: EventLog
    ) -> None:
        log.watch(HPChanged)
        player = make_player()
        layer.create_item_instance("taken", "lantern")
        with layer.transaction() as uow:
            layer.damage_player(player, 10)
            with pytest.raises(ValidationError, match="already exists"):
                layer.create_item_instance("taken", "lantern")
            assert uow.failed
            with pytest.raises(TransactionAborted, match="roll it back"):
                layer.get_player(player.player_id)
            with pytest.raises(TransactionAborted, match="nothing was committed"):
                uow.commit()
            assert not uow.failed and uow.events == []
            layer.damage_player(player, 1)
            uow.commit()
        assert stored_hp(layer, player) == 99
        assert [e.new_hp for e in log.events if isinstance(e, HPChanged)] == [99]

    def test_rollback_makes_it_usable_again(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        with layer.transaction() as uow:
            with pytest.raises(ValidationError):
                layer.create_item_instance("x", "no.such.prototype")
            uow.rollback()
            layer.damage_player(player, 5)
            uow.commit()
        assert stored_hp(layer, player) == 95

    def test_a_check_before_sql_does_not_fail_it(
        self, layer: PersistenceLayer, make_player: MakePlayer
    ) -> None:
        player = make_player()
        with layer.transaction() as uow:
            layer.damage_player(player, 5)
            with pytest.raises(ValidationError):
                layer.update_player_stat_field(player.player_id, "is_admin", 1)
            with pytest.raises(NotFoundError):
                layer.delete_player(uuid.uuid4())
            assert not uow.failed
            uow.commit()
        assert stored_hp(layer, player) == 95
