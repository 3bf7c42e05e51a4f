"""Writes served by one path only, announced to the shadow runner's write watch.

Domains share rows: an XP gain (domain ``experience``) changes the player row that a
``get_player_by_id`` (domain ``player``) reads. When ``player`` is shadowed and
``experience`` is not, the XP write is served by the plain ``legacy`` or ``async`` strategy,
not by the runner; if the runner did not hear of it, a player read racing it would be
compared across two instants and recorded as a false ``result_mismatch``.

So the runner also wraps the ``legacy`` and ``async`` strategies (:meth:`WatchedWrites.watching`
and :meth:`WatchedWrites.watching_sync`): a write that goes through them is announced to the
write watch as it starts and as it ends, and cancels the shadows running on its entities, as
a primary write of the runner does. Reads pass straight through, untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.shadowing.plans import NO_PLAN

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from routing.shadowing.plans import WritePlan

__all__ = ["WatchedWrites"]


class WatchedWrites:
    """Mixed into ``ShadowRunner``: single-path strategies whose writes the watch sees."""

    if TYPE_CHECKING:
        _plans: dict[str, WritePlan]

        def _primary_window(self, touched: list[tuple[str, str | None]]) -> Any: ...

    def watching(self, serve: Dispatch) -> Dispatch:
        """``serve`` (the ``legacy`` or ``async`` strategy) with its writes announced."""

        def watched(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
            if route.operation.kind == "read":
                return serve(route, args, kwargs)
            return self._watched_write(serve, route, args, kwargs)

        return watched

    def watching_sync(self, serve: SyncDispatch) -> SyncDispatch:
        """The sync facade's blocking ``serve`` (legacy signatures), its writes announced."""

        def watched(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if route.operation.kind == "read":
                return serve(route, args, kwargs)
            with self._primary_window(self._touched(route, args, kwargs, legacy=True)):
                return serve(route, args, kwargs)

        return watched

    async def _watched_write(
        self, serve: Dispatch, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        with self._primary_window(self._touched(route, args, kwargs, legacy=False)):
            return await serve(route, args, kwargs)

    def _touched(
        self, route: Route, args: tuple[Any, ...], kwargs: dict[str, Any], *, legacy: bool
    ) -> list[tuple[str, str | None]]:
        plan = self._plans.get(route.operation.name, NO_PLAN)
        return plan.touched(plan.keys(args, kwargs, legacy=legacy))
