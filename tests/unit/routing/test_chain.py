"""The dispatch chain: a call passes through the named layers in the order the chain states."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from flags.model import MODES, Mode
from routing.chain import DispatchChain, Layer, Strategy
from routing.dispatch import Dispatch, Route, SyncDispatch

pytestmark = pytest.mark.unit


def recording(name: str, seen: list[str]) -> tuple[Dispatch, SyncDispatch]:
    async def serve(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        seen.append(name)
        return name

    def serve_sync(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        seen.append(name)
        return name

    return serve, serve_sync


def layer(name: str, modes: tuple[Mode, ...], seen: list[str]) -> Layer:
    def wrap(inner: Dispatch) -> Dispatch:
        def serve(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
            seen.append(name)
            return inner(route, args, kwargs)

        return serve

    def wrap_sync(inner: SyncDispatch) -> SyncDispatch:
        def serve(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            seen.append(name)
            return inner(route, args, kwargs)

        return serve

    return Layer.over(name, modes, wrap, wrap_sync)


def chain(seen: list[str]) -> DispatchChain:
    strategies = {mode: Strategy(mode, *recording(mode, seen)) for mode in MODES}
    layers = [layer("inner", ("legacy", "async"), seen), layer("outer", ("async",), seen)]
    return DispatchChain(strategies, layers)


class TestOrder:
    """``order()`` names what a call passes through, and a call passes through just that."""

    def test_names_outermost_first(self) -> None:
        built = chain([])
        assert built.order("async") == ("outer", "inner", "async")
        assert built.order("legacy") == ("inner", "legacy")
        assert built.order("shadow") == ("shadow",)

    @pytest.mark.parametrize("mode", MODES)
    async def test_an_async_call_follows_the_order(self, mode: Mode) -> None:
        seen: list[str] = []
        built = chain(seen)
        serve, _sync = built.composed(mode)
        assert await serve(None, (), {}) == mode  # type: ignore[arg-type]
        assert tuple(seen) == built.order(mode)

    @pytest.mark.parametrize("mode", MODES)
    def test_a_blocking_call_follows_the_order(self, mode: Mode) -> None:
        seen: list[str] = []
        built = chain(seen)
        _serve, serve_sync = built.composed(mode)
        assert serve_sync(None, (), {}) == mode  # type: ignore[arg-type]
        assert tuple(seen) == built.order(mode)

    def test_every_mode_needs_a_strategy(self) -> None:
        seen: list[str] = []
        with pytest.raises(ValueError, match="no strategy"):
            DispatchChain({"legacy": Strategy("legacy", *recording("legacy", seen))})
