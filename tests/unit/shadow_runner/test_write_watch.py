"""A read is compared only if no write of what it read was in flight or ended meanwhile."""

from __future__ import annotations

import pytest

from routing.shadowing.write_watch import WriteWatch, watched_by

pytestmark = pytest.mark.unit

P1 = [("player", "1")]


class TestWriteWatch:
    """The counters behind ``raced``."""

    def test_quiet_without_writes(self) -> None:
        watch = WriteWatch()
        assert watch.quiet(watch.mark(watched_by("player", "1")))

    def test_write_ended_meanwhile(self) -> None:
        watch = WriteWatch()
        mark = watch.mark(watched_by("player", "1"))
        watch.begin(P1)
        assert not watch.quiet(mark)
        watch.end(P1)
        assert not watch.quiet(mark)

    def test_write_in_flight_at_the_start(self) -> None:
        watch = WriteWatch()
        watch.begin(P1)
        mark = watch.mark(watched_by("player", "1"))
        watch.end(P1)
        assert not watch.quiet(mark)

    def test_other_entities_do_not_count(self) -> None:
        watch = WriteWatch()
        mark = watch.mark(watched_by("player", "1"))
        watch.begin([("player", "2")])
        watch.end([("player", "2")])
        assert watch.quiet(mark)

    def test_a_write_of_the_whole_kind_counts_for_every_entity(self) -> None:
        watch = WriteWatch()
        one, every = watch.mark(watched_by("player", "1")), watch.mark(watched_by("player", None))
        watch.begin([("player", None)])
        watch.end([("player", None)])
        assert not watch.quiet(one) and not watch.quiet(every)

    def test_busy(self) -> None:
        watch = WriteWatch()
        watch.begin(P1)
        assert watch.busy(P1) and not watch.busy([("player", "2")])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestWriteWatchIsBounded:
    """Entities come and go all day; the watch forgets them after its horizon."""

    def test_ended_writes_are_forgotten_after_the_horizon(self) -> None:
        clock = Clock()
        watch = WriteWatch(horizon_s=10, clock=clock)
        for number in range(1000):
            item = [("item", f"made-{number}")]
            watch.begin(item)
            watch.end(item)
        assert len(watch) == 1001  # each item, and the item kind
        clock.now += 11
        watch.begin(P1)
        watch.end(P1)
        assert len(watch) == 2  # the player and its kind, written just now

    def test_a_read_older_than_the_horizon_is_not_quiet(self) -> None:
        clock = Clock()
        watch = WriteWatch(horizon_s=10, clock=clock)
        mark = watch.mark(watched_by("player", "1"))
        clock.now += 10
        assert not watch.quiet(mark)

    def test_in_flight_counts_survive_pruning(self) -> None:
        clock = Clock()
        watch = WriteWatch(horizon_s=10, clock=clock)
        watch.begin(P1)
        clock.now += 11
        watch.begin([("player", "2")])
        watch.end([("player", "2")])
        assert watch.busy(P1)
        watch.end(P1)
        assert not watch.busy(P1)
