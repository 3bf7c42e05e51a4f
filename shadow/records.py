"""The frozen records the divergence store takes in and hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flags.model import Mode

__all__ = ["Divergence", "DivergenceGroup", "Exemplar", "OperationTotals", "RollupRow"]


@dataclass(frozen=True, slots=True)
class Divergence:
    """One divergence to record: its group key and an exemplar's worth of context.

    ``primary_result``/``shadow_result`` are plain data (value or error, effects, events);
    they are redacted by the store before they are stored or logged.
    """

    signature: str
    domain: str
    operation: str
    kind: str
    diff_paths: tuple[str, ...]
    at: datetime
    mode: Mode
    primary_path: str
    inputs: Mapping[str, Any]
    primary_result: Any
    shadow_result: Any
    diff: Mapping[str, Any]
    primary_duration_ms: float
    shadow_duration_ms: float
    service: str = ""
    code_version: str = ""
    # One side failed for an infrastructure reason (the database, the network, a timeout):
    # recorded and counted like any other, but logged as part of the outage, not on its own.
    infrastructure: bool = False
    # The rows the call started from (``[{kind, key, groups: [{table, primary_key, where,
    # rows}]}]``), for a reproduction; redacted by the store with deterministic placeholders.
    captured: Any = None


@dataclass(frozen=True, slots=True)
class DivergenceGroup:
    """All divergences with one signature: how many, since when, and what was decided."""

    signature: str
    domain: str
    operation: str
    kind: str
    diff_paths: tuple[str, ...]
    count: int
    status: str
    first_seen: datetime
    last_seen: datetime
    status_reason: str = ""
    status_by: str | None = None
    status_at: datetime | None = None
    noise_evidence: Any = None
    noise_overruled: bool = False
    fixed_version: str | None = None
    recurred_version: str | None = None


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One stored instance of a group's divergence (redacted)."""

    id: int
    signature: str
    inputs: Any
    primary_path: str
    primary_result: Any
    shadow_result: Any
    diff: Any
    service: str
    mode: Mode
    primary_duration_ms: float | None
    shadow_duration_ms: float | None
    code_version: str
    created_at: datetime
    captured: Any = None


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One minute of shadowed calls for a domain (and operation, or ``None`` for all of them).

    Latencies are in milliseconds; percentiles are estimated from the stored histograms.
    """

    minute: datetime
    domain: str
    operation: str | None
    calls: int
    comparisons: int
    divergences: int
    ignored: int
    timeouts: int
    errors: Mapping[str, int]
    latency_mean_ms: Mapping[str, float | None]
    latency_p50_ms: Mapping[str, float | None]
    latency_p99_ms: Mapping[str, float | None]
    served: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    health: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperationTotals:
    """One operation's rollup summed from a domain's start minute on (what readiness reads)."""

    domain: str
    operation: str
    calls: int
    comparisons: int
    divergences: int
    ignored: int
    timeouts: int
    errors: Mapping[str, int]
    first_minute: datetime
    last_minute: datetime
    served: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    health: Mapping[str, int] = field(default_factory=dict)
