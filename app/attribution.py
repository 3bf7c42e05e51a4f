"""Rollout per service: counts by calling service, wired into one running system.

``Attribution.layers`` go in the dispatch chain (``routing.attribution``); it listens to
the shadow engine's Results, exports the counts to Prometheus and writes them to PostgreSQL
each ``DUALPATH_SERVICE_FLUSH_INTERVAL_S``. The names counted are ``DUALPATH_SERVICES`` and
then the first ``DUALPATH_SERVICE_CAP`` names seen; see ``routing.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from routing.attribution import attribution_layers
from routing.chain import Layer
from routing.services import ServiceNames, current_service
from shadow.observation import Result
from shadow.service_counts import ServiceCollector, ServiceCounts
from shadow.service_store import ServiceRollupWriter

if TYPE_CHECKING:
    from app.settings import Settings
    from routing.router import PersistenceRouter
    from shadow.system import Shadow

__all__ = ["Attribution", "make_attribution"]


@dataclass
class Attribution:
    """The bounded names, the counts, and the writer of one system."""

    names: ServiceNames
    counts: ServiceCounts
    writer: ServiceRollupWriter

    def start(self) -> None:
        """Start writing the counts in the background."""
        self.writer.start()

    async def stop(self) -> None:
        """Write what is pending and stop."""
        await self.writer.stop()

    async def flush(self) -> None:
        """Write what is pending now (tests, and before reading the map in one process)."""
        await self.writer.flush()

    def layers(self) -> tuple[Layer, ...]:
        """The dispatch chain's layers that count each call by service."""
        return attribution_layers(self.counts.record, self.names)

    def listen(self, router: PersistenceRouter, shadow: Shadow) -> None:
        """Count ``shadow``'s comparisons by service, and export the counts of ``router``."""
        shadow.engine.add_listener(self.on_result)
        operations = [(op.domain, op.name) for op in router.registry]
        shadow.metrics.registry.register(ServiceCollector(self.counts, self.names, operations))

    def on_result(self, result: Result) -> None:
        """The engine listener: count a comparison under the calling service of its call."""
        self.counts.count_result(self.names.label(current_service()), result)


def make_attribution(settings: Settings, shadow: Shadow) -> Attribution:
    """The names, counts and writer of ``settings``, writing through ``shadow``'s pool."""
    names = ServiceNames(settings.service_names, settings.service_cap)
    counts = ServiceCounts()
    writer = ServiceRollupWriter(shadow.pool, counts, settings.service_flush_interval_s)
    return Attribution(names, counts, writer)
