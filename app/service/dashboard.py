"""The on-call dashboard: overview, divergence list and detail, flag timeline (Jinja2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.service.divergence_access import (
    divergence_store,
    exemplars,
    fetch_groups,
    find_group,
    list_groups,
)
from app.service.filters import FILTERS
from app.service.overview import WINDOW_MINUTES, domain_cards
from app.service.sidebyside import field_rows, readable_path
from app.service.state import State
from dashboards import TEMPLATES_DIR
from flags.model import MODES, FlagChange, Override, overrides_in_force
from observability import mask_secrets
from shadow.divergences import STATUSES

if TYPE_CHECKING:
    from app.bootstrap import System
    from app.readiness import Readiness

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)


class GuardContext(TypedDict):
    """What the overview shows of the guard: readiness, overrides, the last hour's decisions."""

    readiness: dict[str, Readiness]
    overrides: dict[str, Override]
    rollbacks: list[FlagChange]
    dry_runs: list[FlagChange]


LIST_LIMIT = 500


def make_templates() -> Jinja2Templates:
    """The templates, with the few filters they use."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters.update(FILTERS)
    env.filters["path"] = readable_path
    return templates


templates = make_templates()


def page(request: Request, name: str, **context: Any) -> HTMLResponse:
    """Render ``name`` with the common context (the page, the modes, the store's presence)."""
    context.setdefault("store_ok", True)
    return templates.TemplateResponse(request, name, {"modes": MODES, **context})


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, state: State) -> HTMLResponse:
    """Every domain's mode, traffic, divergence rate, errors, latency and open groups.

    The database it reads is named at the bottom, with its password masked.
    """
    system = state.require_system()
    now = datetime.now(UTC)
    store = system.divergences
    rollup = await store.rollup(since=now - timedelta(minutes=WINDOW_MINUTES))
    open_groups = await fetch_groups(store, status="open")
    flags = await system.flags.list()
    cards = domain_cards(flags, rollup, open_groups, now)
    changes = await system.flags.history(limit=8)
    guarded = await guard_context(system, now)
    return page(
        request,
        "overview.html",
        cards=cards,
        changes=changes,
        store_ok=True,
        database=mask_secrets(system.database_url),
        health_exemplars=health_exemplars(system, [c.domain for c in cards]),
        **guarded,
    )


def health_exemplars(system: System, domains: list[str]) -> dict[str, Any]:
    """Per domain, this process's latest shadow health failure (inputs, elapsed), if any."""
    coverage = system.shadow.coverage
    return {d: found[0] for d in domains if (found := coverage.exemplars(d))}


async def guard_context(system: System, now: datetime) -> GuardContext:
    """Readiness per domain, overrides in force, and the guard's rollbacks of the last hour."""
    from app.guard import ACTOR
    from app.readiness import assess_system, rules_from

    found = await assess_system(system, rules_from(system.settings), now)
    since = now - timedelta(hours=1)
    decided = [
        change
        for change in await system.flags.history(limit=50)
        if change.actor == ACTOR and change.changed_at >= since
    ]
    return {
        "readiness": {r.domain: r for r in found},
        "overrides": overrides_in_force(system.flags),
        "rollbacks": [c for c in decided if not c.extra.get("dry_run")],
        "dry_runs": [c for c in decided if c.extra.get("dry_run")],
    }


@router.get("/divergences", response_class=HTMLResponse)
async def divergences(
    request: Request,
    state: State,
    domain: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Divergence groups, filterable by domain, kind and status."""
    system = state.require_system()
    status = status if status in STATUSES else None
    filters = {"domain": domain or None, "kind": kind or None, "status": status}
    groups = await list_groups(system.divergences, **filters)
    domains = [s.domain for s in await system.flags.list()]
    return page(
        request,
        "divergences.html",
        groups=groups[:LIST_LIMIT],
        total=len(groups),
        filters=filters,
        domains=domains,
        store_ok=True,
    )


@router.get("/divergences/{signature}", response_class=HTMLResponse)
async def divergence(request: Request, state: State, signature: str) -> HTMLResponse:
    """One group: both results side by side, the diff paths, the exemplars, the actions."""
    system = state.require_system()
    store = divergence_store(system)
    group = await find_group(store, signature)
    samples = await exemplars(store, signature)
    for sample in samples:
        sample["rows"] = field_rows(
            sample.get("primary_result"), sample.get("shadow_result"), group["diff_paths"]
        )
    return page(request, "divergence.html", group=group, exemplars=samples)


@router.get("/flags", response_class=HTMLResponse)
async def flag_timeline(
    request: Request, state: State, domain: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """The flag audit log, newest first: who changed what, when and why (guard included)."""
    system = state.require_system()
    flags = await system.flags.list()
    domain = domain if domain in {f.domain for f in flags} else None
    changes = await system.flags.history(domain, 200)
    return page(request, "flags.html", flags=flags, changes=changes, domain=domain)
