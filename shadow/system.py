"""All of the shadow engine's parts for one database, built together and started together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from shadow.coverage import Coverage
from shadow.divergences import Divergences
from shadow.engine import EngineConfig, ShadowEngine, log_raised
from shadow.ignore import IgnoreRules, IgnoreRuleStore, refresh_rules
from shadow.metrics import ShadowMetrics
from shadow.pool import LazyPool
from shadow.store import DivergenceStore, StoreConfig

__all__ = ["Shadow"]


class Shadow:
    """The engine, the store, the rules, coverage and the divergences API over one database.

    Building connects to nothing; ``start()`` (on a running loop) starts the store's writer
    and the periodic reload of ignore rules; ``stop()`` flushes and stops them.
    """

    def __init__(
        self,
        dsn: str,
        *,
        registry: CollectorRegistry | None = None,
        engine_config: EngineConfig | None = None,
        store_config: StoreConfig | None = None,
        rules_interval_s: float = 5.0,
        raised: Callable[[str, BaseException], None] = log_raised,
    ) -> None:
        self.pool = LazyPool(dsn)
        self.metrics = ShadowMetrics(registry)
        self.store = DivergenceStore(self.pool, self.metrics, store_config)
        self.coverage = Coverage(self.metrics, self.store.rollup, self.store.config.redact_fields)
        self.rules = IgnoreRules()
        self.rule_store = IgnoreRuleStore(self.pool)
        self.engine = ShadowEngine(
            self.store, self.rules, self.metrics, self.store.rollup, engine_config, raised,
            self.coverage,
        )  # fmt: skip
        self.divergences = Divergences(self.pool, self.store, self.rules, self.rule_store)
        self._rules_interval_s = rules_interval_s
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing divergences and reloading rules in the background."""
        self.store.start()
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(
                refresh_rules(self.rule_store, self.rules, self._rules_interval_s),
                name="shadow-rules",
            )

    async def stop(self, max_wait_s: float = 5.0) -> None:
        """Flush what is queued (up to ``max_wait_s``), stop the tasks, close the pool."""
        await self.store.stop(max_wait_s)
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self.pool.close()
