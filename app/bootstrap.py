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

from app.database import resolve_database_url
from app.guard import attach_guard  # guarded rollout
from app.heap import HeapTrimmer
from app.operations import DOMAINS, build_registry
from app.settings import Settings
from flags.model import FlagProvider
from flags.overrides import OverriddenFlags  # guarded rollout
from persistence.events import EventBus
from shadow.divergences import Divergences
from shadow.engine import EngineConfig
from shadow.store import StoreConfig
from shadow.system import Shadow


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
    - ``guard``: rolls a domain back when its figures breach the thresholds (or None);
    - ``shadow_runner``: serves ``shadow`` and ``live`` by running both paths; ``drain()``
      waits for the comparisons still running;
    - ``legacy`` and ``async_layer``: the two paths themselves, for tests and benchmarks.
    """

    settings: Settings
    database_url: str
    router: Any
    sync: Any
    flags: FlagProvider
    events: EventBus
    legacy: Any
    async_layer: Any
    shadow: Shadow
    divergences: Divergences
    guard: Any = None  # guarded rollout: app.guard.Guard, None when DUALPATH_GUARD_ENABLED=0
    shadow_runner: Any = None  # routing.shadow_runner.ShadowRunner: serves shadow and live

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
async def open_system(settings: Settings | None = None) -> AsyncIterator[System]:
    """Open every pool, thread and task dualpath needs; closing releases them all."""
    from persistence.async_layer import AsyncPersistenceLayer
    from persistence.legacy import PersistenceLayer, set_persistence
    from routing.router import PersistenceRouter

    settings = settings or Settings()
    url = resolve_database_url(settings)
    events = EventBus()
    async with AsyncExitStack() as stack:
        legacy = PersistenceLayer(url, event_bus=events, pool_size=settings.legacy_pool_size)
        stack.callback(legacy.close)
        async_layer = AsyncPersistenceLayer(
            events, database_url=url, pool_size=settings.async_pool_size
        )
        stack.push_async_callback(async_layer.close)
        await async_layer.start()
        flags = make_flag_provider(settings, url)
        # -- guarded rollout: local overrides on top of any provider (flags/overrides.py) --
        flags = OverriddenFlags(flags, url, DOMAINS)
        # -- end guarded rollout --
        stack.push_async_callback(flags.close)
        await flags.start()
        shadow = make_shadow(settings, url)
        shadow.start()
        stack.push_async_callback(shadow.stop)
        router = PersistenceRouter(
            build_registry(),
            legacy=legacy,
            async_=async_layer,
            flags=flags,
            legacy_threads=settings.legacy_threads,
        )
        stack.push_async_callback(router.close)
        # -- shadow runner: shadow and live run both paths and compare them --
        runner = make_shadow_runner(settings, router, shadow)
        runner.install(router)
        stack.push_async_callback(runner.drain)
        # -- end shadow runner --
        # -- guarded rollout: the guard rolls a misbehaving domain back (app/guard.py) --
        guard = None
        if settings.guard_enabled:
            registry = shadow.metrics.registry
            guard = attach_guard(
                settings, flags, router, shadow.engine, registry, DOMAINS, database_url=url
            )
            guard.start()
            stack.push_async_callback(guard.stop)
        # -- end guarded rollout --
        trimmer = HeapTrimmer(settings.heap_trim_interval_s)
        trimmer.start()
        stack.push_async_callback(trimmer.stop)
        sync = router.sync
        previous = installed_persistence()
        set_persistence(sync)
        stack.callback(_restore_persistence, sync, previous)
        structlog.get_logger().info("system.opened", flag_provider=flags.name)
        yield System(
            settings,
            url,
            router,
            sync,
            flags,
            events,
            legacy,
            async_layer,
            shadow,
            shadow.divergences,
            guard=guard,  # guarded rollout
            shadow_runner=runner,
        )


def make_shadow(settings: Settings, database_url: str) -> Shadow:
    """The shadow engine, store and divergences API, with a registry of their own."""
    return Shadow(
        database_url,
        registry=CollectorRegistry(),
        engine_config=EngineConfig(
            raise_on_divergence=settings.raise_on_divergence,
            code_version=settings.code_version,
        ),
        store_config=StoreConfig(
            max_queue=settings.divergence_queue,
            exemplars_per_group=settings.exemplars_per_group,
            redact_fields=settings.redacted,
        ),
    )


def make_shadow_runner(settings: Settings, router: Any, shadow: Shadow) -> Any:
    """The runner that serves shadow and live mode on ``router``, judged by ``shadow``."""
    from app.operations import shadow_writes
    from routing.shadow_runner import RunnerConfig, ShadowRunner

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


def _restore_persistence(ours: Any, previous: Any) -> None:
    """Put back what was installed before, unless another system replaced ours since."""
    from persistence.legacy import set_persistence

    if installed_persistence() is ours:
        set_persistence(previous)
