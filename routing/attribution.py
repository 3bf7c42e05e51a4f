"""Count every routed call under its calling service: one wrapper around each mode's strategy.

``attribute(router, counter, names)`` wraps the strategies of all four modes (async and sync)
once, after the shadow runner is installed, so it sees every call of every view. Per call it
reads the service (the view's own, else the context's, see ``routing.services``), maps it to
a bounded label, and after the answering path returns or raises tells ``counter`` which path
answered and whether it raised.

A view made with ``for_service(name)`` also sets the context's service to ``name`` while its
call runs, so that what the call starts (the shadow's comparison, on a task or the router's
loop thread) is attributed to it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from flags.model import MODES
from routing.dispatch import Dispatch, Route, SyncDispatch
from routing.services import ServiceNames, _service

__all__ = ["ANSWERED_BY", "CallCounter", "attribute"]

#: Which path answers the caller in each mode.
ANSWERED_BY: Final = {"legacy": "legacy", "shadow": "legacy", "live": "async", "async": "async"}


class CallCounter(Protocol):
    """Where attributed calls are counted (``shadow.service_counts.ServiceCounts``)."""

    def count_call(
        self, service: str, domain: str, operation: str, path: str, failed: bool
    ) -> None: ...


def attribute(router: Any, counter: CallCounter, names: ServiceNames) -> None:
    """Wrap every mode's strategies of ``router`` so each call is counted by service."""
    for mode in MODES:
        serve, serve_sync = router.strategies(mode)
        path = ANSWERED_BY[mode]
        router.use_dispatch(
            mode,
            counted(serve, path, counter.count_call, names.label),
            sync=counted_sync(serve_sync, path, counter.count_call, names.label),
        )


Count = Callable[[str, str, str, str, bool], None]


def counted(
    serve: Dispatch, path: str, count: Count, label: Callable[[str | None], str]
) -> Dispatch:
    """``serve``, counting each call under its service once the answering path is done."""
    current = _service.get

    async def serve_counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        own = route.service
        service = label(current() if own is None else own)
        operation = route.operation
        token = _service.set(own) if own is not None else None
        try:
            result = await serve(route, args, kwargs)
        except Exception:
            count(service, operation.domain, operation.name, path, True)
            raise
        finally:
            if token is not None:
                _service.reset(token)
        count(service, operation.domain, operation.name, path, False)
        return result

    return serve_counted


def counted_sync(
    serve: SyncDispatch, path: str, count: Count, label: Callable[[str | None], str]
) -> SyncDispatch:
    """The blocking twin of :func:`counted`, for the sync facade."""
    current = _service.get

    def serve_counted(route: Route, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        own = route.service
        service = label(current() if own is None else own)
        operation = route.operation
        token = _service.set(own) if own is not None else None
        try:
            result = serve(route, args, kwargs)
        except Exception:
            count(service, operation.domain, operation.name, path, True)
            raise
        finally:
            if token is not None:
                _service.reset(token)
        count(service, operation.domain, operation.name, path, False)
        return result

    return serve_counted
