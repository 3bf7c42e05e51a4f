"""The composition root: builds every component once, from one validated ``Settings``.

``open_system()`` is the only place that connects to the database, starts a flag provider,
or wires the router. Everything else receives what it needs from the ``System`` it yields.
It serves any team's declaration (``routing.declarations.Declarations``) and paths:
``open_system(declarations=..., legacy=..., async_layer=...)``; without one it serves the
declaration ``DUALPATH_DECLARATIONS`` names, else the MUD's, over the MUD's own paths. The
domains of the flags, the guard, the API, the dashboard and the CLI are the declaration's.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import structlog
from prometheus_client import CollectorRegistry

from app.attribution import Attribution, make_attribution
from app.database import resolve_database_url
from app.guard import Guard, build_guard
from app.heap import HeapTrimmer
from app.operations import MUD
from app.settings import Settings
from flags.model import FlagProvider
from flags.overrides import OverriddenFlags
from persistence.async_layer import AsyncPersistenceLayer
from persistence.events import EventBus
from persistence.legacy import PersistenceLayer
from routing.chain import DispatchChain
from routing.declarations import Declarations
from routing.registry import OperationRegistry
from routing.router import PersistenceRouter
from routing.shadowing import CalibrationConfig, RunnerConfig, ShadowRunner, ShadowWrites
from routing.sync_facade import SyncFacade
from shadow.divergences import Divergences
from shadow.engine import EngineConfig
from shadow.store import StoreConfig
from shadow.system import Shadow

#: The game's refusals: compared like any answer, never counted as a path's errors.
REFUSALS = MUD.errors.refusals


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
    - ``legacy`` and ``async_layer``: the two paths themselves, for tests and benchmarks;
    - ``declarations``: the operations, domains and error meanings it serves.
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
    declarations: Declarations = MUD

    @property
    def metrics_registry(self) -> CollectorRegistry:
        """The Prometheus registry every dualpath metric is registered in."""
        return self.shadow.metrics.registry


class UnusableDeclarations(ValueError):
    """``DUALPATH_DECLARATIONS`` names no ``Declarations``, or one given no paths to serve."""


def load_declarations(settings: Settings) -> Declarations:
    """The declaration ``DUALPATH_DECLARATIONS`` names (``module:attribute``), else the MUD's."""
    spec = settings.declarations
    if not spec:
        return MUD
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnusableDeclarations(f"DUALPATH_DECLARATIONS={spec!r}: {exc}") from exc
    found = getattr(module, attribute or "DECLARATIONS", None)
    if not isinstance(found, Declarations):
        raise UnusableDeclarations(
            f"DUALPATH_DECLARATIONS={spec!r} does not name a routing.declarations.Declarations"
        )
    return found


def declared_domains(settings: Settings) -> tuple[str, ...]:
    """The domains of the configured declaration (what the CLI accepts)."""
    return load_declarations(settings).domains


def make_flag_provider(
    settings: Settings, database_url: str, domains: Sequence[str] | None = None
) -> FlagProvider:
    """The provider named by ``DUALPATH_FLAG_PROVIDER``: postgres, unleash or environment.

    ``domains``: the domains it serves; the configured declaration's unless given.
    """
    known = tuple(domains) if domains is not None else declared_domains(settings)
    kind = settings.flag_provider
    if kind == "postgres":
        from flags.postgres import PostgresFlagStore

        return PostgresFlagStore(database_url, known)
    if kind == "environment":
        from flags.environment import EnvironmentFlags

        return EnvironmentFlags(settings.flags, known)
    if kind == "unleash":
        from flags.unleash import UnleashFlags

        return UnleashFlags(**settings.unleash_options(), domains=known)
    raise ValueError(f"unknown flag provider {kind!r}; use postgres, unleash or environment")


@asynccontextmanager
async def open_system(
    settings: Settings | None = None,
    *,
    events: EventBus | None = None,
    legacy: PersistenceLayer | object | None = None,
    async_layer: AsyncPersistenceLayer | object | None = None,
    flags: FlagProvider | None = None,
    shadow: Shadow | None = None,
    registry: OperationRegistry | None = None,
    declarations: Declarations | None = None,
) -> AsyncIterator[System]:
    """Open every pool, thread and task dualpath needs; closing releases them all.

    Each part may be given instead of built (a fake in a unit test): a part that is given
    is used as it is, and is neither started nor closed here; its owner does that.
    ``declarations`` is what is routed (``DUALPATH_DECLARATIONS``, else the MUD's); a
    declaration other than the MUD's needs its own ``legacy`` and ``async_layer`` paths. Its
    write declarations are checked against the paths and the database before anything is
    served (``routing.shadowing.DeclarationError``).
    """
    settings = settings or Settings()
    declared = declarations or load_declarations(settings)
    _require_paths(declared, legacy, async_layer)
    url = resolve_database_url(settings)
    events = events or EventBus()
    async with AsyncExitStack() as stack:
        stack.callback(_log_closed)  # last: after every part below has closed
        if legacy is None:
            legacy = _own_legacy(stack, settings, url, events)
        if async_layer is None:
            async_layer = await _own_async(stack, settings, url, events)
        if flags is None:
            flags = await _start_flags(stack, settings, url, declared.domains)
        if shadow is None:
            shadow = _start_shadow(stack, settings, url, declared)
        attribution = _start_attribution(stack, settings, shadow)
        router = PersistenceRouter(
            registry or declared.registry(),
            legacy=legacy,
            async_=async_layer,
            flags=flags,
            legacy_threads=settings.legacy_threads,
        )
        stack.push_async_callback(router.close)
        runner = make_shadow_runner(settings, router, shadow, declared.shadow_writes())
        shadow.metrics.start_at_zero((op.domain, op.name) for op in router.registry)
        stack.push_async_callback(runner.stop)
        if registry is None:  # a registry given (a fake's) is used as it is, unchecked
            await check_shadow_runner(runner, url)
        guard = (
            make_guard(settings, flags, shadow, url, declared) if settings.guard_enabled else None
        )
        chain = compose_dispatch(router, runner, guard, attribution)
        chain.install(router)
        attribution.listen(router, shadow)
        _start_background(stack, settings, guard)
        if declared is MUD:
            _install_persistence(stack, router.sync)
        structlog.get_logger().info("system.opened", flag_provider=flags.name)
        yield System(
            settings, url, router, router.sync, flags, events,
            cast(PersistenceLayer, legacy),  # or the declaration's own legacy path
            cast(AsyncPersistenceLayer, async_layer),  # or its own async path
            shadow, shadow.divergences, runner, chain, attribution, guard, declared,
        )  # fmt: skip


def _require_paths(declared: Declarations, legacy: object, async_layer: object) -> None:
    """A declaration other than the MUD's comes with its own paths."""
    if declared is not MUD and (legacy is None or async_layer is None):
        raise UnusableDeclarations(
            "open_system(declarations=...) for a declaration other than the MUD's needs "
            "legacy= and async_layer=: the two paths that implement its operations"
        )


async def check_shadow_runner(runner: ShadowRunner, url: str) -> None:
    """Check the runner's write declarations against the database (``ShadowRunner.check``)."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await runner.check(conn)
    finally:
        await conn.close()


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


def _start_shadow(
    stack: AsyncExitStack, settings: Settings, url: str, declared: Declarations
) -> Shadow:
    shadow = make_shadow(settings, url, declared)
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


async def _start_flags(
    stack: AsyncExitStack, settings: Settings, url: str, domains: tuple[str, ...]
) -> FlagProvider:
    """The configured provider with local overrides on top (``flags.overrides``), started."""
    flags = OverriddenFlags(make_flag_provider(settings, url, domains), url, domains)
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


def make_guard(
    settings: Settings,
    flags: FlagProvider,
    shadow: Shadow,
    url: str,
    declared: Declarations = MUD,
) -> Guard:
    """The guard, fed by the shadow engine's Results; its layer goes in the dispatch chain."""
    registry = shadow.metrics.registry
    return build_guard(
        settings, flags, shadow.engine, registry, declared.domains, database_url=url,
        errors=declared.errors,
    )  # fmt: skip


def make_shadow(settings: Settings, database_url: str, declared: Declarations = MUD) -> Shadow:
    """The shadow engine, store and divergences API, with a registry of their own."""
    errors = declared.errors
    return Shadow(
        database_url,
        registry=CollectorRegistry(),
        # test mode (raise_on_divergence) is acted on by the runner alone
        engine_config=EngineConfig(
            code_version=settings.code_version,
            refusals=errors.refusals,
            infrastructure=errors.infrastructure,
            alike=errors.alike,
        ),
        store_config=StoreConfig(
            max_queue=settings.divergence_queue,
            exemplars_per_group=settings.exemplars_per_group,
            redact_fields=settings.redacted,
        ),
    )


def make_shadow_runner(
    settings: Settings,
    router: PersistenceRouter,
    shadow: Shadow,
    writes: ShadowWrites | None = None,
) -> ShadowRunner:
    """The runner that serves shadow and live mode on ``router``, judged by ``shadow``."""
    config = RunnerConfig(
        shadow_timeout_s=settings.shadow_timeout_s,
        raise_on_divergence=settings.raise_on_divergence,
        write_hold_ms=settings.shadow_write_hold_ms,
    )
    declared = writes if writes is not None else MUD.shadow_writes()
    calibration = CalibrationConfig(
        settings.calibration_percent, settings.calibration_by_domain, settings.calibration_warmup
    )
    runner = ShadowRunner.for_router(
        router, shadow.engine, declared, config, coverage=shadow.coverage, calibration=calibration
    )
    runner.calibration.known = shadow.noise.aa_runs
    return runner


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
