"""All of the shadow engine's parts for one database, built together and started together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from observability import Outage
from shadow.calibration import CalibrationCounts
from shadow.coverage import Coverage
from shadow.divergences import Divergences
from shadow.engine import EngineConfig, ShadowEngine, log_raised
from shadow.ignore import IgnoreRules, IgnoreRuleStore, refresh_rules
from shadow.metrics import ShadowMetrics
from shadow.noise_groups import NoiseJudge
from shadow.pool import LazyPool
from shadow.store import DivergenceStore, StoreConfig

__all__ = ["Shadow"]


class Shadow:
    """The engine, the store, the rules, coverage and the divergences API over one database.

    Building connects to nothing; ``start()`` (on a running loop) starts the store's writer,
    the periodic reload of ignore rules and calibration's periodic judgement (which groups
    are noise); ``stop()`` flushes and stops them.
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
        noise_interval_s: float = 2.0,
    ) -> None:
        self.pool = LazyPool(dsn)
        self.metrics = ShadowMetrics(registry)
        self.store = DivergenceStore(self.pool, self.metrics, store_config)
        self.coverage = Coverage(self.metrics, self.store.rollup, self.store.config.redact_fields)
        self.rules = IgnoreRules()
        self.rule_store = IgnoreRuleStore(self.pool)
        self.calibration = CalibrationCounts(self.pool)
        self.engine = ShadowEngine(
            self.store, self.rules, self.metrics, self.store.rollup, engine_config, raised,
            self.coverage, calibration=self.calibration,
        )  # fmt: skip
        self.noise = NoiseJudge(self.pool, self.calibration, self.rules, self.rule_store)
        self.divergences = Divergences(
            self.pool, self.store, self.rules, self.rule_store, self.noise, self.engine
        )
        self._rules_interval_s = rules_interval_s
        self._noise_interval_s = noise_interval_s
        self._refresher: asyncio.Task[None] | None = None
        self._judging: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing divergences and reloading rules in the background."""
        self.store.start()
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(
                refresh_rules(self.rule_store, self.rules, self._rules_interval_s),
                name="shadow-rules",
            )
        if self._judging is None:
            self._judging = asyncio.get_running_loop().create_task(
                self._judge_noise(), name="shadow-noise"
            )

    async def _judge_noise(self) -> None:
        """Every ``noise_interval_s``: write the counts, judge the groups, tell the engine."""
        outage = Outage("shadow.calibration")
        while True:
            await asyncio.sleep(self._noise_interval_s)
            try:
                await self.divergences.calibrate()
                self.metrics.noise(self.noise.noise_by_domain)
            except Exception as exc:
                outage.failed(exc)
            else:
                outage.succeeded()

    async def stop(self, max_wait_s: float = 5.0) -> None:
        """Flush what is queued (up to ``max_wait_s``), stop the tasks, close the pool."""
        await self.store.stop(max_wait_s)
        for task in (self._refresher, self._judging):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._refresher = self._judging = None
        with contextlib.suppress(Exception):
            await self.calibration.flush()
        await self.pool.close()
