"""Key extractors read the key by position or keyword, follow attribute paths, never raise."""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from routing import Operation
from routing.keys import compile_key, no_key

pytestmark = pytest.mark.unit


@dataclass
class Owner:
    user_id: uuid.UUID


@dataclass
class Thing:
    thing_id: str
    owner: Owner


def target(thing: Thing, amount: int, reason: str = "", *, tag: str | None = "default") -> None:
    """The signature the extractors are compiled against."""


SIGNATURE = inspect.signature(target)


def key_of(key: str | None) -> Any:
    return compile_key(Operation("thing", "target", "write", key), SIGNATURE)


class TestExtraction:
    """Positional, keyword, default, keyword-only and attribute paths."""

    def test_positional(self) -> None:
        assert key_of("amount")((None, 5), {}) == "5"

    def test_keyword(self) -> None:
        assert key_of("amount")((None,), {"amount": 7}) == "7"

    def test_default_when_not_passed(self) -> None:
        assert key_of("reason")((None, 1), {}) == ""

    def test_keyword_only_parameter(self) -> None:
        extract = key_of("tag")
        assert extract((None, 1), {"tag": "x"}) == "x"
        assert extract((None, 1), {}) == "default"

    def test_attribute_path(self) -> None:
        owner = uuid.uuid4()
        thing = Thing("t1", Owner(owner))
        assert key_of("thing.thing_id")((thing, 1), {}) == "t1"
        assert key_of("thing.owner.user_id")((), {"thing": thing, "amount": 1}) == str(owner)

    def test_uuid_becomes_its_string(self) -> None:
        value = uuid.uuid4()
        assert key_of("amount")((None, value), {}) == str(value)

    def test_no_key_operation(self) -> None:
        assert key_of(None) is no_key
        assert no_key((1, 2), {"a": 3}) is None


class TestNeverRaises:
    """A key that cannot be read routes without a key; the path raises its own error later."""

    def test_missing_argument(self) -> None:
        assert key_of("amount")((), {}) is None

    def test_none_value(self) -> None:
        assert key_of("thing.thing_id")((None, 1), {}) is None

    def test_wrong_type_for_attribute_path(self) -> None:
        assert key_of("thing.thing_id")(("not a thing", 1), {}) is None

    def test_unprintable_value(self) -> None:
        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no")

        assert key_of("amount")((None, Unprintable()), {}) is None


class TestCompileTime:
    """A key that names no parameter is a registry error, found at start-up."""

    def test_unknown_parameter(self) -> None:
        with pytest.raises(ValueError, match="key parameter 'widget'"):
            key_of("widget.widget_id")
