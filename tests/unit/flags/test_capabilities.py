"""Each provider satisfies the Protocols it declares, with the same signatures, and no more."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, Generic, Protocol

import pytest

from flags.environment import EnvironmentFlags
from flags.model import (
    FlagError,
    FlagProvider,
    FlagsWithOverrides,
    Override,
    override_of,
    overrides_in_force,
)
from flags.overrides import OverriddenFlags
from flags.postgres import PostgresFlagStore
from flags.unleash import UnleashFlags

pytestmark = pytest.mark.unit

DOMAINS = ("player", "room")
CLOSED = "postgresql://nobody@127.0.0.1:1/none"  # never connected to: constructors do no I/O


def environment() -> EnvironmentFlags:
    return EnvironmentFlags("player=shadow", DOMAINS)


def postgres() -> PostgresFlagStore:
    return PostgresFlagStore(CLOSED, DOMAINS)


def unleash() -> UnleashFlags:
    return UnleashFlags("http://127.0.0.1:1/api", DOMAINS, admin_token="admin")


def overridden() -> OverriddenFlags:
    return OverriddenFlags(environment(), CLOSED, DOMAINS)


SOURCES = {"environment": environment, "postgres": postgres, "unleash": unleash}
EVERY = {**SOURCES, "overrides": overridden}


def members(protocol: type) -> dict[str, Any]:
    """The members a Protocol declares itself and through its bases, by name."""
    found: dict[str, Any] = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object, Generic, Protocol):
            continue
        found.update({n: v for n, v in vars(klass).items() if not n.startswith("_")})
    return found


def shape(signature: inspect.Signature) -> list[tuple[str, Any, Any, str]]:
    """Names, kinds, defaults and annotations (as written: every module defers them)."""
    return [
        (p.name, p.kind, p.default, str(p.annotation).removeprefix("builtins."))
        for p in signature.parameters.values()
    ]


def assert_conforms(provider: object, protocol: type) -> None:
    """Every method has the Protocol's signature; every property answers a value of its type."""
    for name, declared in members(protocol).items():
        if isinstance(declared, property):
            assert getattr(provider, name) is not None, name
            continue
        if not callable(declared):
            continue
        actual = shape(inspect.signature(getattr(provider, name)))
        wanted = shape(inspect.signature(declared))[1:]  # without self
        assert actual == wanted, f"{type(provider).__name__}.{name}: {actual} != {wanted}"
        is_async = inspect.iscoroutinefunction(declared)
        assert inspect.iscoroutinefunction(getattr(provider, name)) is is_async, name


class TestFlagProvider:
    """Every provider, and the override layer, is a ``FlagProvider`` with its exact calls."""

    @pytest.mark.parametrize("make", EVERY.values(), ids=EVERY.keys())
    def test_satisfies_flag_provider(self, make: Any) -> None:
        provider = make()
        assert isinstance(provider, FlagProvider)
        assert_conforms(provider, FlagProvider)

    @pytest.mark.parametrize(
        ("make", "audited"),
        [(environment, False), (postgres, True), (unleash, False)],
        ids=SOURCES.keys(),
    )
    def test_says_who_audits(self, make: Any, audited: bool) -> None:
        assert make().audit_in_database is audited

    def test_a_string_is_always_available(self) -> None:
        assert environment().available is True

    def test_the_layer_answers_for_its_inner_provider(self) -> None:
        class Lost(EnvironmentFlags):
            available = False

        assert OverriddenFlags(postgres(), CLOSED, DOMAINS).audit_in_database is True
        assert OverriddenFlags(environment(), CLOSED, DOMAINS).audit_in_database is False
        assert OverriddenFlags(environment(), CLOSED, DOMAINS).available is True
        assert OverriddenFlags(Lost("", DOMAINS), CLOSED, DOMAINS).available is False


class TestFlagsWithOverrides:
    """Only the override layer has overrides; the sources say so by not satisfying it."""

    def test_the_layer_satisfies_it(self) -> None:
        layer = overridden()
        assert isinstance(layer, FlagsWithOverrides)
        assert_conforms(layer, FlagsWithOverrides)

    @pytest.mark.parametrize("make", SOURCES.values(), ids=SOURCES.keys())
    def test_sources_do_not(self, make: Any) -> None:
        provider = make()
        assert not isinstance(provider, FlagsWithOverrides)
        assert overrides_in_force(provider) == {}
        assert override_of(provider, "player") is None

    def test_helpers_read_the_layer(self) -> None:
        layer = overridden()
        held = Override("player", "legacy", "guard", "guard")
        layer._apply({"player": held})
        assert overrides_in_force(layer) == {"player": held}
        assert override_of(layer, "player") is held
        assert override_of(layer, "room") is None
        assert override_of(None, "player") is None


def probes(source: str) -> list[str]:
    """``getattr``/``hasattr`` calls in ``source`` that name a declared provider member."""
    declared = {*members(FlagsWithOverrides), "name"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in declared
        ):
            found.append(f"{node.lineno}: {node.func.id} {node.args[1].value}")
    return found


class TestAppDoesNotProbe:
    """``app/`` calls what the Protocols declare; it never asks a provider what it has."""

    def test_no_getattr_or_hasattr_names_a_declared_member(self) -> None:
        app = Path(__file__).resolve().parents[3] / "app"
        found = {path.name: probes(path.read_text()) for path in sorted(app.rglob("*.py"))}
        assert {name: lines for name, lines in found.items() if lines} == {}

    def test_the_scan_sees_a_probe(self) -> None:
        source = "x = getattr(flags, 'override_for', None)\nok = hasattr(flags, 'available')\n"
        assert probes(source) == ["1: getattr override_for", "2: hasattr available"]
        assert probes("getattr(settings, 'guard_window_s')") == []


class TestBadModeAtTheProvider:
    """``set`` and ``override`` refuse a mode outside the four before anything is written."""

    @pytest.mark.parametrize("make", [unleash, overridden], ids=["unleash", "overrides"])
    async def test_set_refuses(self, make: Any) -> None:
        provider = make()
        before = await provider.list()
        with pytest.raises(FlagError, match="unknown mode 'sideways'"):
            await provider.set("player", "sideways", reason="r", actor="ops")
        assert await provider.list() == before

    async def test_override_refuses(self) -> None:
        layer = overridden()
        with pytest.raises(FlagError, match="unknown mode 'sideways'"):
            await layer.override("player", "sideways", reason="r", actor="guard")  # type: ignore[arg-type]
        assert layer.overrides() == {}
        assert layer.mode_for("player", "k", None) == "shadow"
