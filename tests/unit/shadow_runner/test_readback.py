"""The SQL that captures, restores and compares the rows a write touches."""

from __future__ import annotations

import pytest

from routing.shadowing.rows import (
    Entity,
    RowGroup,
    capture_params,
    capture_sql,
    effects,
    literal,
    parse_capture,
    restore_script,
)

pytestmark = pytest.mark.unit

PLAYER = Entity("player", (RowGroup("players", ("player_id",), "player_id = {key}::uuid"),))
CONTAINER = Entity(
    "container",
    (
        RowGroup("containers", ("container_id",), "container_id = {key}::uuid", frozenset({"t"})),
        RowGroup("contents", ("container_id", "item_id"), "container_id = {key}::uuid"),
    ),
)


class TestCapture:
    """One statement per call, one column per group, locking only when asked."""

    def test_asyncpg_placeholders_and_locks(self) -> None:
        sql = capture_sql([CONTAINER, PLAYER], "asyncpg", locking=True)
        assert "container_id = $1::text::uuid" in sql and "player_id = $2::text::uuid" in sql
        assert sql.count("FOR UPDATE") == 3
        assert "ORDER BY container_id, item_id" in sql
        assert [c in sql for c in ("AS g0_0", "AS g0_1", "AS g1_0")] == [True] * 3

    def test_psycopg2_named_parameters_without_locks(self) -> None:
        sql = capture_sql([PLAYER], "psycopg2", locking=False)
        assert "%(k0)s::text" in sql and "FOR UPDATE" not in sql
        assert capture_params(["a"], "psycopg2") == {"k0": "a"}
        assert capture_params(["a", "b"], "asyncpg") == ("a", "b")

    def test_parse(self) -> None:
        row = {"g0_0": '[{"player_id": "p", "hp": 3}]'}
        [(entity, key, groups)] = parse_capture([PLAYER], ["p"], row)
        assert (entity, key, groups) == (PLAYER, "p", ([{"player_id": "p", "hp": 3}],))


class TestRestore:
    """Rows the capture did not see go first, then the captured rows are upserted."""

    def test_order_and_statements(self) -> None:
        captured = ((CONTAINER, "c1", ([{"container_id": "c1", "t": 1}], [])),)
        script = restore_script(captured, 1)
        lines = script.split(";\n")
        assert lines[0] == "SET LOCAL lock_timeout = '1ms'"
        assert lines[1].startswith("DELETE FROM contents WHERE container_id = ")
        assert "NOT IN" not in lines[1]  # nothing captured: every row of the group goes
        assert lines[2].startswith("DELETE FROM containers") and "NOT IN" in lines[2]
        assert lines[3].startswith("INSERT INTO containers (container_id, t)")
        assert "ON CONFLICT (container_id) DO UPDATE SET (container_id, t)" in lines[3]

    def test_literals_cannot_be_closed_from_inside(self) -> None:
        text = "a $v0$ b $v1$ c"
        quoted = literal(text)
        assert quoted == "$v2$" + text + "$v2$"


class TestEffects:
    """Clock columns and ignored fields are left out; rows keep the capture's order."""

    def test_drops_volatile_and_ignored(self) -> None:
        captured = (
            (CONTAINER, "c1", ([{"container_id": "c1", "t": 1, "x": 2}], [{"item_id": "i"}])),
        )
        assert effects(captured, frozenset({"x"})) == {
            "container": {"containers": [{"container_id": "c1"}], "contents": [{"item_id": "i"}]}
        }
