"""Shadow comparison: run both paths, compare what they did, and keep the divergences.

Three small nouns, as in github/scientist: an :class:`Observation` (what one path did), a
:class:`Comparison` (whether two observations agree, and how not) and a :class:`Result`
(both observations and their comparison). :class:`ShadowEngine` turns two observations into
a Result, drops what ignore rules cover, counts it and queues a divergence for the
:class:`DivergenceStore`; :class:`Divergences` reads and decides on what was stored.
:class:`Shadow` builds all of it for one database.

This package imports nothing from ``persistence``, ``routing`` or ``app``.
"""

from __future__ import annotations

from shadow.compare import CompareOptions, compare
from shadow.divergences import Divergences, UnknownSignature
from shadow.engine import DivergenceError, EngineConfig, OperationSpec, ShadowEngine
from shadow.errors import DEFAULT_INFRASTRUCTURE, classify_errors
from shadow.ignore import IgnoreRule, IgnoreRules
from shadow.metrics import ShadowMetrics
from shadow.normalise import normalise
from shadow.observation import KINDS, Comparison, Mismatch, Observation, Result
from shadow.records import Divergence, DivergenceGroup, Exemplar, OperationTotals, RollupRow
from shadow.redact import redact
from shadow.signature import signature
from shadow.store import DivergenceStore, FlushTimeout, StoreConfig
from shadow.system import Shadow

__all__ = [
    "DEFAULT_INFRASTRUCTURE",
    "KINDS",
    "CompareOptions",
    "Comparison",
    "Divergence",
    "DivergenceError",
    "DivergenceGroup",
    "DivergenceStore",
    "Divergences",
    "EngineConfig",
    "Exemplar",
    "FlushTimeout",
    "IgnoreRule",
    "IgnoreRules",
    "Mismatch",
    "Observation",
    "OperationSpec",
    "OperationTotals",
    "Result",
    "RollupRow",
    "Shadow",
    "ShadowEngine",
    "ShadowMetrics",
    "StoreConfig",
    "UnknownSignature",
    "classify_errors",
    "compare",
    "normalise",
    "redact",
    "signature",
]
