"""Reading and acting on divergence groups through the shadow engine's store.

The store is ``system.divergences``. Records become plain
dicts here (``group_view``, ``exemplar_view``) for the JSON API and the dashboard alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, cast

from fastapi import HTTPException

from app.records import as_dict, jsonable

if TYPE_CHECKING:
    from app.bootstrap import System
    from shadow.divergences import Divergences
    from shadow.records import DivergenceGroup, Exemplar

__all__ = [
    "ACTIONS",
    "GroupView",
    "act",
    "divergence_store",
    "exemplar_view",
    "fetch_groups",
    "find_group",
    "group_view",
    "list_groups",
]

MAX_GROUPS = 100_000


class GroupView(TypedDict):
    """A divergence group as the dashboard and the API show it."""

    signature: str
    domain: str
    operation: str
    kind: str
    diff_paths: list[str]
    count: int
    status: str
    first_seen: datetime
    last_seen: datetime
    status_reason: str
    status_by: str | None
    status_at: datetime | None


# The URL verb of each status action, and the store method behind it.
ACTIONS = {"ignore": "ignore", "reopen": "reopen", "fixed": "mark_fixed"}


def divergence_store(system: System) -> Divergences:
    """The system's divergence store."""
    return system.divergences


async def fetch_groups(
    store: Divergences, limit: int = MAX_GROUPS, **filters: str | None
) -> list[DivergenceGroup]:
    """The group records matching ``filters`` (domain, status, kind), up to ``limit``."""
    return list(await store.groups(limit=limit, **filters))


async def list_groups(
    store: Divergences,
    *,
    domain: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[GroupView]:
    """The groups matching the filters, most recently seen first."""
    records = await fetch_groups(store, domain=domain, status=status, kind=kind)
    views = [group_view(r) for r in records]
    views.sort(key=lambda g: str(g.get("last_seen") or ""), reverse=True)
    return views


async def find_group(store: Divergences, signature: str) -> GroupView:
    """One group by signature, or 404."""
    try:
        record = await store.group(signature)
    except KeyError:
        raise HTTPException(404, f"no divergence group {signature!r}") from None
    return group_view(record)


async def exemplars(store: Divergences, signature: str) -> list[dict[str, Any]]:
    """The stored exemplars of a group, as dicts."""
    return [exemplar_view(e) for e in await store.exemplars(signature)]


async def act(store: Divergences, action: str, signature: str, actor: str, **options: Any) -> None:
    """Run one status action (``ignore``, ``reopen``, ``fixed``) on a group."""
    await find_group(store, signature)
    methods: dict[str, Callable[..., Awaitable[DivergenceGroup]]] = {
        "ignore": store.ignore,
        "reopen": store.reopen,
        "mark_fixed": store.mark_fixed,
    }
    await methods[ACTIONS[action]](signature, actor=actor, **options)


def group_view(record: DivergenceGroup) -> GroupView:
    """A group record as a dict; ``diff_paths`` as a list of strings."""
    view = cast(GroupView, as_dict(record))
    view["signature"] = str(view.get("signature"))
    view["diff_paths"] = [str(p) for p in view.get("diff_paths") or ()]
    view["status"] = str(jsonable(view.get("status") or "open"))
    return view


def exemplar_view(record: Exemplar) -> dict[str, Any]:
    """An exemplar record as a JSON-friendly dict."""
    view: dict[str, Any] = jsonable(as_dict(record))
    return view
