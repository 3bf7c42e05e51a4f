"""The composition root: builds every component once, from one validated ``Settings``.

``open_system()`` is the only place that connects to the database, starts a flag provider,
or wires the router. Everything else receives what it needs from the ``System`` it yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from app.attribution import Attribution, make_attribution
from app.database import resolve_database_url
from app.guard import Guard, build_guard
from app.heap import HeapTrimmer
from app.operations import DOMAINS, build_registry, shadow_writes
from app.settings import Settings
from flags.model import FlagProvider
from flags.overrides import OverriddenFlags
from persistence.async_layer import AsyncPersistenceLayer
from persistence.errors import NotFoundError, ValidationError
from persistence.events import EventBus
from persistence.legacy import PersistenceLayer
from routing.chain import DispatchChain
from routing.registry import OperationRegistry
from routing.router import PersistenceRouter
from routing.shadowing import RunnerConfig, ShadowRunner
from routing.sync_facade import SyncFacade
from shadow.divergences import Divergences
from shadow.engine import EngineConfig
from shadow.store import StoreConfig
from shadow.system import Shadow

#: The game's refusals: compared like any answer, never counted as a path's errors.
REFUSALS = frozenset(f"{c.__module__}.{c.__qualname__}" for c in (ValidationError, NotFoundError))


@dataclass
class System:
    """What a running dualpath process is made of.

    - ``router``: the async API of ``AsyncPersistenceLayer``, routed by flag;
    - ``sync``: the legacy ``PersistenceLayer`` API, routed the same way; while the system is
      open, ``persistence.get_persistence()`` returns it;
    - ``flags``: the flag provider (``set``, ``get``, ``list``, ``history``);
    - ``events``: the EventBus both paths publish on;
    - ``divergences``: the divergence groups, exemplars and their triage;
    - ``shadow``: the shadow engine, its store and its metrics registry;
    - ``shadow_runner``: serves ``shadow`` and ``live`` by running both paths; ``drain()``
      waits for the comparisons still running;
    - ``dispatch``: the dispatch chain the router serves each mode through;
    - ``guard``: rolls a domain back when its figures breach the thresholds (or None);
    - ``attribution``: the calls counted by calling service (names, counts, their writer);
    - ``legacy`` and ``async_layer``: the two paths themselves, for tests and benchmarks.
    """

    settings: Settings
    database_url: str
    router: PersistenceRouter
    sync: SyncFacade
    flags: FlagProvider
    events: EventBus
    legacy: PersistenceLayer
    async_layer: AsyncPersistenceLayer
    shadow: Shadow
    divergences: Divergences
    shadow_runner: ShadowRunner
    dispatch: DispatchChain
    attribution: Attribution
    guard: Guard | None = None

    @property
    def metrics_registry(self) -> CollectorRegistry:
        """The Prometheus registry every dualpath metric is registered in."""
        return self.shadow.metrics.registry


def make_flag_provider(settings: Settings, database_url: str) -> FlagProvider:
    """The provider named by ``DUALPATH_FLAG_PROVIDER``: postgres, unleash or environment."""
    kind = settings.flag_provider
    if kind == "postgres":
        from flags.postgres import PostgresFlagStore

        return PostgresFlagStore(database_url, DOMAINS)
    if kind == "environment":
        from flags.environment import EnvironmentFlags

        return EnvironmentFlags(settings.flags, DOMAINS)
    if kind == "unleash":
        from flags.unleash import UnleashFlags

        return UnleashFlags(**settings.unleash_options(), domains=DOMAINS)
    raise ValueError(f"unknown flag provider {kind!r}; use postgres, unleash or environment")


@asynccontextmanager
async def open_system(
    settings: Settings | None = None,
    *,
    events: EventBus | None = None,
    legacy: PersistenceLayer | None = None,
    async_layer: AsyncPersistenceLayer | None = None,
    flags: FlagProvider | None = None,
    shadow: Shadow | None = None,
    registry: OperationRegistry | None = None,
) -> AsyncIterator[System]:
    """Open every pool, thread and task dualpath needs; closing releases them all.

    Each part may be given instead of built (a fake in a unit test): a part that is given
    is used as it is, and is neither started nor closed here; its owner does that.
    """
    settings = settings or Settings()
    url = resolve_database_url(settings)
    events = events or EventBus()
    async with AsyncExitStack() as stack:
        stack.callback(_log_closed)  # last: after every part below has closed
        if legacy is None:
            legacy = _own_legacy(stack, settings, url, events)
        if async_layer is None:
            async_layer = await _own_async(stack, settings, url, events)
        if flags is None:
            flags = await _start_flags(stack, settings, url)
        if shadow is None:
            shadow = _start_shadow(stack, settings, url)
        attribution = _start_attribution(stack, settings, shadow)
        router = PersistenceRouter(
            registry or build_registry(),
            legacy=legacy,
            async_=async_layer,
            flags=flags,
            legacy_threads=settings.legacy_threads,
        )
        stack.push_async_callback(router.close)
        runner = make_shadow_runner(settings, router, shadow)
        shadow.metrics.start_at_zero((op.domain, op.name) for op in router.registry)
        stack.push_async_callback(runner.stop)
        guard = make_guard(settings, flags, shadow, url) if settings.guard_enabled else None
        chain = compose_dispatch(router, runner, guard, attribution)
        chain.install(router)
        attribution.listen(router, shadow)
        _start_background(stack, settings, guard)
        _install_persistence(stack, router.sync)
        structlog.get_logger().info("system.opened", flag_provider=flags.name)
        yield System(
            settings, url, router, router.sync, flags, events, legacy, async_layer, shadow,
            shadow.divergences, runner, chain, attribution, guard,
        )  # fmt: skip


def _log_closed() -> None:
    structlog.get_logger().info("system.closed")


def _own_legacy(
    stack: AsyncExitStack, settings: Settings, url: str, events: EventBus
) -> PersistenceLayer:
    legacy = PersistenceLayer(url, event_bus=events, pool_size=settings.legacy_pool_size)
    stack.callback(legacy.close)
    return legacy


async def _own_async(
    stack: AsyncExitStack, settings: Settings, url: str, events: EventBus
) -> AsyncPersistenceLayer:
    layer = AsyncPersistenceLayer(events, database_url=url, pool_size=settings.async_pool_size)
    stack.push_async_callback(layer.close)
    await layer.start()
    return layer


def _start_shadow(stack: AsyncExitStack, settings: Settings, url: str) -> Shadow:
    shadow = make_shadow(settings, url)
    shadow.start()
    stack.push_async_callback(shadow.stop)
    return shadow


def _start_background(stack: AsyncExitStack, settings: Settings, guard: Guard | None) -> None:
    """The guard (if any) and the heap trimmer, stopped when the system closes."""
    if guard is not None:
        guard.start()
        stack.push_async_callback(guard.stop)
    trimmer = HeapTrimmer(settings.heap_trim_interval_s)
    trimmer.start()
    stack.push_async_callback(trimmer.stop)


async def _start_flags(stack: AsyncExitStack, settings: Settings, url: str) -> FlagProvider:
    """The configured provider with local overrides on top (``flags.overrides``), started."""
    flags = OverriddenFlags(make_flag_provider(settings, url), url, DOMAINS)
    stack.push_async_callback(flags.close)
    await flags.start()
    return flags


def _start_attribution(stack: AsyncExitStack, settings: Settings, shadow: Shadow) -> Attribution:
    """The counts by calling service, written through the shadow's pool until it stops."""
    attribution = make_attribution(settings, shadow)
    attribution.start()
    stack.push_async_callback(attribution.stop)
    return attribution


def compose_dispatch(
    router: PersistenceRouter,
    runner: ShadowRunner,
    guard: Guard | None,
    attribution: Attribution,
) -> DispatchChain:
    """The dispatch chain (``ShadowRunner.chain``): the guard, then attribution outermost."""
    guarded = [guard.layer()] if guard is not None else []
    return runner.chain(router, [*guarded, *attribution.layers()])


def make_guard(settings: Settings, flags: FlagProvider, shadow: Shadow, url: str) -> Guard:
    """The guard, fed by the shadow engine's Results; its layer goes in the dispatch chain."""
    registry = shadow.metrics.registry
    return build_guard(settings, flags, shadow.engine, registry, DOMAINS, database_url=url)


def make_shadow(settings: Settings, database_url: str) -> Shadow:
    """The shadow engine, store and divergences API, with a registry of their own."""
    return Shadow(
        database_url,
        registry=CollectorRegistry(),
        # test mode (raise_on_divergence) is acted on by the runner alone
        engine_config=EngineConfig(code_version=settings.code_version, refusals=REFUSALS),
        store_config=StoreConfig(
            max_queue=settings.divergence_queue,
            exemplars_per_group=settings.exemplars_per_group,
            redact_fields=settings.redacted,
        ),
    )


def make_shadow_runner(
    settings: Settings, router: PersistenceRouter, shadow: Shadow
) -> ShadowRunner:
    """The runner that serves shadow and live mode on ``router``, judged by ``shadow``."""
    config = RunnerConfig(
        shadow_timeout_s=settings.shadow_timeout_s,
        raise_on_divergence=settings.raise_on_divergence,
        write_hold_ms=settings.shadow_write_hold_ms,
    )
    return ShadowRunner.for_router(router, shadow.engine, shadow_writes(), config)


def installed_persistence() -> Any:
    """What ``get_persistence()`` would return now without creating anything, or None."""
    import persistence.legacy as legacy_module

    return legacy_module._layer


def _install_persistence(stack: AsyncExitStack, sync: SyncFacade) -> None:
    """``get_persistence()`` returns ``sync`` while the system is open."""
    from persistence.legacy import set_persistence

    previous = installed_persistence()
    set_persistence(sync)
    stack.callback(_restore_persistence, sync, previous)


def _restore_persistence(ours: Any, previous: Any) -> None:
    """Put back what was installed before, unless another system replaced ours since."""
    from persistence.legacy import set_persistence

    if installed_persistence() is ours:
        set_persistence(previous)
