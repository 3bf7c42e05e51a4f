"""The dispatch chain: each mode's strategy and the named layers wrapped around it, in order.

A ``Layer`` wraps the strategies of some modes (the write watch wraps ``legacy`` and
``async``; the guard wraps ``async``). A :class:`DispatchChain` is built from one strategy
per mode and a list of layers, innermost first, and says what it is made of
(:meth:`DispatchChain.order`) before it is installed on a router.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flags.model import MODES, Mode
from routing.dispatch import Dispatch, SyncDispatch
from routing.router import PersistenceRouter

__all__ = ["DispatchChain", "Layer", "Strategy"]


@dataclass(frozen=True, slots=True)
class Strategy:
    """What serves one mode at the core of the chain, async and blocking, under a name."""

    name: str
    serve: Dispatch
    serve_sync: SyncDispatch


@dataclass(frozen=True, slots=True)
class Layer:
    """A named wrapper around the strategies of ``modes``."""

    name: str
    modes: frozenset[Mode]
    wrap: Callable[[Dispatch], Dispatch]
    wrap_sync: Callable[[SyncDispatch], SyncDispatch]

    @classmethod
    def over(
        cls,
        name: str,
        modes: Iterable[Mode],
        wrap: Callable[[Dispatch], Dispatch],
        wrap_sync: Callable[[SyncDispatch], SyncDispatch],
    ) -> Layer:
        """A layer over ``modes``."""
        return cls(name, frozenset(modes), wrap, wrap_sync)


class DispatchChain:
    """One strategy per mode, and the layers around it, innermost first."""

    def __init__(self, strategies: Mapping[Mode, Strategy], layers: Iterable[Layer] = ()) -> None:
        missing = [mode for mode in MODES if mode not in strategies]
        if missing:
            raise ValueError(f"the dispatch chain has no strategy for {missing}")
        self._strategies = dict(strategies)
        self._layers = tuple(layers)

    @property
    def modes(self) -> tuple[Mode, ...]:
        """Every mode the chain serves."""
        return MODES

    def order(self, mode: Mode) -> tuple[str, ...]:
        """The names a call in ``mode`` passes through, outermost first, strategy last."""
        names = [layer.name for layer in self._layers if mode in layer.modes]
        return (*reversed(names), self._strategies[mode].name)

    def composed(self, mode: Mode) -> tuple[Dispatch, SyncDispatch]:
        """The strategy of ``mode`` wrapped in its layers (async, blocking)."""
        strategy = self._strategies[mode]
        serve, serve_sync = strategy.serve, strategy.serve_sync
        for layer in self._layers:
            if mode in layer.modes:
                serve, serve_sync = layer.wrap(serve), layer.wrap_sync(serve_sync)
        return serve, serve_sync

    def install(self, router: PersistenceRouter) -> None:
        """Serve every mode of ``router`` (every view of it) through this chain."""
        for mode in MODES:
            serve, serve_sync = self.composed(mode)
            router.use_dispatch(mode, serve, sync=serve_sync)
