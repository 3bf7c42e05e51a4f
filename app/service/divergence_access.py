"""Reading and acting on divergence groups through the shadow engine's store.

The store is ``system.divergences``; its methods may be sync or async. Records become plain
dicts here (``group_view``, ``exemplar_view``) for the JSON API and the dashboard alike.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import HTTPException

from app.service.records import as_dict, jsonable, resolve

__all__ = [
    "ACTIONS",
    "act",
    "divergence_store",
    "exemplar_view",
    "fetch_groups",
    "find_group",
    "group_view",
    "list_groups",
]

MAX_GROUPS = 100_000
# The URL verb of each status action, and the store method behind it.
ACTIONS = {"ignore": "ignore", "reopen": "reopen", "fixed": "mark_fixed"}


def divergence_store(system: Any) -> Any:
    """The system's divergence store, or 503 while the shadow engine is not part of it."""
    store = getattr(system, "divergences", None)
    if store is None:
        raise HTTPException(503, "the divergence store is not available in this system")
    return store


async def fetch_groups(store: Any, limit: int = MAX_GROUPS, **filters: Any) -> list[Any]:
    """The group records matching ``filters`` (domain, status, kind), up to ``limit``."""
    if "limit" in inspect.signature(store.groups).parameters:
        filters["limit"] = limit
    records: list[Any] = await resolve(store.groups(**filters))
    return records


async def list_groups(
    store: Any, *, domain: str | None = None, status: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The groups matching the filters, most recently seen first."""
    records = await fetch_groups(store, domain=domain, status=status, kind=kind)
    views = [group_view(r) for r in records]
    views.sort(key=lambda g: str(g.get("last_seen") or ""), reverse=True)
    return views


async def find_group(store: Any, signature: str) -> dict[str, Any]:
    """One group by signature, or 404."""
    lookup = getattr(store, "group", None)
    if lookup is not None:
        try:
            record = await resolve(lookup(signature))
        except KeyError:
            record = None
        if record is None:
            raise HTTPException(404, f"no divergence group {signature!r}")
        return group_view(record)
    for record in await fetch_groups(store):
        if str(getattr(record, "signature", None) or as_dict(record).get("signature")) == signature:
            return group_view(record)
    raise HTTPException(404, f"no divergence group {signature!r}")


async def exemplars(store: Any, signature: str) -> list[dict[str, Any]]:
    """The stored exemplars of a group, as dicts."""
    return [exemplar_view(e) for e in await resolve(store.exemplars(signature))]


async def act(store: Any, action: str, signature: str, actor: str, **options: Any) -> None:
    """Run one status action (``ignore``, ``reopen``, ``fixed``) on a group."""
    await find_group(store, signature)
    method = getattr(store, ACTIONS[action])
    await resolve(method(signature, actor=actor, **options))


def group_view(record: Any) -> dict[str, Any]:
    """A group record as a dict; ``diff_paths`` as a list of strings."""
    view: dict[str, Any] = as_dict(record)
    view["signature"] = str(view.get("signature"))
    view["diff_paths"] = [str(p) for p in view.get("diff_paths") or ()]
    view["status"] = str(jsonable(view.get("status") or "open"))
    return view


def exemplar_view(record: Any) -> dict[str, Any]:
    """An exemplar record as a JSON-friendly dict."""
    view: dict[str, Any] = jsonable(as_dict(record))
    return view
