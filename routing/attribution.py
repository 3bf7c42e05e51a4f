"""Count every routed call under its calling service: one wrapper around each mode's strategy.

``attribution_layers(record, names)`` are the outermost layers of the dispatch chain
(``routing.chain``), over all four modes (async and sync), so they see every call of every
view; ``attribute`` wraps a router's current strategies in them directly. Per call it
reads the service (the view's own, else the context's, see ``routing.services``), maps it to
a bounded label, and once the answering path has returned or raised hands ``record`` one
``(label, operation, answering path, raised)`` tuple (made once per label and route, then
reused). ``record`` must be cheap and
thread-safe (``ServiceCounts.record`` is a ``deque.append``); aggregation happens later, off
the caller's path.

A view made with ``for_service(name)`` also sets the context's service to ``name`` while its
call runs, so that what the call starts (the shadow's comparison, on a task or the router's
loop thread) is attributed to it too. A cancelled call is not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from functools import partial
from typing import Any, Final

from flags.model import Mode
from routing.chain import Layer
from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.registry import Operation
from routing.services import ServiceNames, _service

__all__ = ["ANSWERED_BY", "CallRecord", "attribute", "attribution_layers"]

#: Which path answers the caller in each mode.
ANSWERED_BY: Final = {"legacy": "legacy", "shadow": "legacy", "live": "async", "async": "async"}

#: One counted call: the service's label, the operation, the answering path, whether it raised.
CallRecord = tuple[str, Operation, str, bool]
Record = Callable[[CallRecord], None]


_ANSWERING: Final[tuple[tuple[str, tuple[Mode, ...]], ...]] = (
    ("legacy", ("legacy", "shadow")),
    ("async", ("live", "async")),
)


def attribution_layers(record: Record, names: ServiceNames) -> tuple[Layer, ...]:
    """The dispatch chain's ``attribution`` layers: one per answering path, over its modes."""
    return tuple(
        Layer.over(
            "attribution",
            modes,
            partial(counted, path=path, record=record, names=names),
            partial(counted_sync, path=path, record=record, names=names),
        )
        for path, modes in _ANSWERING
    )


def attribute(router: Any, record: Record, names: ServiceNames) -> None:
    """Wrap the strategies ``router`` serves now in the attribution layers."""
    for layer in attribution_layers(record, names):
        for mode in layer.modes:
            serve, serve_sync = router.strategies(mode)
            router.use_dispatch(mode, layer.wrap(serve), sync=layer.wrap_sync(serve_sync))


def counted(serve: Dispatch, path: str, record: Record, names: ServiceNames) -> Dispatch:
    """``serve``, recording each call under its service once the answering path is done."""
    enter = _entering(path, names)

    async def serve_counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        (answered, raised), token = enter(route)
        try:
            result = await serve(route, args, kwargs)
        except Exception:
            record(raised)
            raise
        finally:
            if token is not None:
                _service.reset(token)
        record(answered)
        return result

    return serve_counted


def counted_sync(
    serve: SyncDispatch, path: str, record: Record, names: ServiceNames
) -> SyncDispatch:
    """The blocking twin of :func:`counted`, for the sync facade."""
    enter = _entering(path, names)

    def serve_counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        (answered, raised), token = enter(route)
        try:
            result = serve(route, args, kwargs)
        except Exception:
            record(raised)
            raise
        finally:
            if token is not None:
                _service.reset(token)
        record(answered)
        return result

    return serve_counted


Records = tuple[CallRecord, CallRecord]


def _entering(
    path: str, names: ServiceNames
) -> Callable[[Route], tuple[Records, Token[str | None] | None]]:
    """What a call does first: its view's own service set in the context (the token to reset,
    or None), then the two records of its bounded label and route."""
    current, known, label = _service.get, names.labels.get, names.label
    made, make = _records(path)

    def enter(route: Route) -> tuple[Records, Token[str | None] | None]:
        own = route.service
        token = None if own is None else _service.set(own)
        name = current()
        service = known(name) or label(name)
        return made((service, route)) or make(service, route), token

    return enter


def _records(
    path: str,
) -> tuple[Callable[[tuple[str, Route]], Records | None], Callable[[str, Route], Records]]:
    """A cache of the two records (answered, raised) of each (label, route), made once.

    Appending a record that already exists allocates nothing, so counting a call leaves no
    garbage behind; the cache is bounded by the labels times the routes.
    """
    cache: dict[tuple[str, Route], Records] = {}

    def make(service: str, route: Route) -> Records:
        pair = ((service, route.operation, path, False), (service, route.operation, path, True))
        return cache.setdefault((service, route), pair)

    return cache.get, make
