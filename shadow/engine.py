"""The shadow engine: what a runner calls once both paths of a call have been observed.

``ShadowEngine.observe()`` compares the two observations, drops differences covered by ignore
rules, counts the outcome (Prometheus and the per-minute rollup) and queues a divergence for
the store. It never raises into the caller: every failure inside it goes to one
``raised(operation, error)`` hook. The one exception is the test mode: with
``raise_on_divergence`` a divergence that is left after ignore rules raises
:class:`DivergenceError`, carrying the :class:`~shadow.observation.Result`, for the runner
to raise in the caller (as Scientist's ``raise_on_mismatches`` does).

Operations are described by anything with ``domain``, ``name``, ``unordered`` and
``ignore_fields`` attributes (:class:`OperationSpec`); the shadow engine does not depend on
the router that declares them.

A shadow that timed out, or failed for an infrastructure reason while the primary answered,
says nothing about whether the paths agree: it is the shadow path's health
(:mod:`shadow.coverage`), counted per operation with an exemplar and handed to listeners (the
guard counts it as that path's error), but neither a comparison nor a divergence group.
Another divergence caused by an infrastructure failure (an error mismatch where one side's
error is the database's, the network's or a timeout) is recorded like any other, but logged
as one outage (``shadow.paths_unavailable``, then ``shadow.paths_recovered`` once neither
side fails so), not as a ``shadow.divergence`` each.

A mismatch whose every path also differed in the same call's own A/A run (``aa_paths``, given
while the operation warms up) is held until calibration's verdict (:mod:`shadow.held`). So is,
once calibration has judged, a mismatch of a signature not judged noise yet whose every path
is judged noise or was seen to differ A/A with no verdict calling it real (``noise_paths``,
``real_paths``), unless ops overruled its group: the next judgement records it, in a group
judged ``noise`` in the same pass if its paths are, so it never counts as an open divergence
meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flags.model import Mode
from observability import Outage, is_infrastructure, report_error
from shadow.calibration import CalibrationCounts
from shadow.compare import CompareOptions, compare, timeout_comparison
from shadow.coverage import INFRASTRUCTURE, TIMEOUT, Coverage, health_exemplar
from shadow.errors import DEFAULT_INFRASTRUCTURE
from shadow.held import HeldDivergences
from shadow.ignore import IgnoreRules
from shadow.metrics import ShadowMetrics
from shadow.normalise import normalise, normalise_events
from shadow.observation import (
    SHADOW_ERROR,
    SHADOW_TIMEOUT,
    Comparison,
    Mismatch,
    Observation,
    Result,
)
from shadow.records import Divergence
from shadow.rollup import MinuteRollup
from shadow.signature import normalise_paths, signature

__all__ = [
    "WARMING",
    "DivergenceError",
    "DivergenceSink",
    "EngineConfig",
    "OperationSpec",
    "ShadowEngine",
    "log_raised",
]


#: ``aa_paths`` of a call made while its operation warms up that had no A/A run of its own.
WARMING: tuple[str, ...] = ("<warming up, no A/A run>",)


class OperationSpec(Protocol):
    """What the engine needs to know about an operation (``routing.Operation`` fits)."""

    @property
    def domain(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def unordered(self) -> bool: ...
    @property
    def ignore_fields(self) -> frozenset[str]: ...


class DivergenceSink(Protocol):
    """Where divergences go (the :class:`~shadow.store.DivergenceStore`, or a fake)."""

    def record(self, divergence: Divergence) -> None: ...


class DivergenceError(AssertionError):
    """A divergence in test mode; ``result`` says what differed."""

    def __init__(self, result: Result) -> None:
        super().__init__(
            f"{result.domain}.{result.operation}: {result.kind} at {', '.join(result.diff_paths)}"
        )
        self.result = result


def log_raised(operation: str, error: BaseException) -> None:
    """The default ``raised`` hook: one error with its traceback (no locals), rate-limited."""
    report_error("shadow.raised", error, operation=operation)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine options: test mode, infrastructure and refusal error names, exemplar context.

    ``refusals`` names the error classes that refuse the caller's request (a game rule, a
    missing entity): compared like any result, but not counted as a path's errors. ``alike``
    maps an error class name to the name it is compared as (``shadow.errors.ErrorMeanings``).
    """

    raise_on_divergence: bool = False
    infrastructure: frozenset[str] = DEFAULT_INFRASTRUCTURE
    refusals: frozenset[str] = frozenset()
    alike: Mapping[str, str] = field(default_factory=dict)
    service: str = ""
    code_version: str = ""


class ShadowEngine:
    """Compares, filters, counts and records the two observations of each shadowed call."""

    def __init__(
        self,
        sink: DivergenceSink,
        rules: IgnoreRules,
        metrics: ShadowMetrics,
        rollup: MinuteRollup,
        config: EngineConfig | None = None,
        raised: Callable[[str, BaseException], None] = log_raised,
        coverage: Coverage | None = None,
        calibration: CalibrationCounts | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.coverage = coverage or Coverage(metrics, rollup)
        self.calibration = calibration
        #: Signatures of the groups calibration judged noise: counted as ignored, still recorded.
        self.noise: frozenset[str] = frozenset()
        #: Per (domain, operation), as of calibration's last judgement: the paths judged noise,
        #: and those A/A runs saw differ that no verdict calls real yet.
        self.noise_paths: Mapping[tuple[str, str], frozenset[str]] = {}
        #: Per (domain, operation): the paths judged real (never held).
        self.real_paths: Mapping[tuple[str, str], frozenset[str]] = {}
        #: Whether calibration has judged (and set the two above) at least once.
        self.judged = False
        #: Signatures of groups ops reopened from ``noise``: calibration leaves them alone.
        self.overruled: frozenset[str] = frozenset()
        #: Mismatches held until calibration has judged their paths (``shadow.held``).
        self.held = HeldDivergences()
        #: Per operation with an A/A run in this process: the paths any of them differed at.
        self._aa_differed: dict[tuple[str, str], set[str]] = {}
        self._sink = sink
        self._rules = rules
        self._metrics = metrics
        self._rollup = rollup
        self._raised = raised
        self._options: dict[tuple[str, str], CompareOptions] = {}
        self._listeners: list[Callable[[Result], None]] = []
        self.outage = Outage("shadow.paths", settle_s=1.0)

    def add_listener(self, listener: Callable[[Result], None]) -> None:
        """Hand every counted Result to ``listener`` too (the guard's live figures).

        A listener runs on the observing thread, so it must be quick; what it raises goes to
        the ``raised`` hook, never to the caller.
        """
        self._listeners.append(listener)

    def observe(
        self,
        operation: OperationSpec,
        primary: Observation,
        shadow: Observation,
        *,
        mode: Mode,
        inputs: Mapping[str, Any] | None = None,
        timed_out: bool = False,
        captured: Any = None,
        aa_paths: tuple[str, ...] | None = None,
    ) -> Result | None:
        """Compare and record one call; the Result, or ``None`` if the engine itself failed.

        ``captured`` is the rows the call started from (plain data), kept with an exemplar
        so a reproduction can insert them. A divergence of a group judged noise is recorded
        but returned (and counted) as ignored; so is one held (``aa_paths``: where the same
        call's A/A run differed), recorded once judged. Raises only
        :class:`DivergenceError`, and only with ``raise_on_divergence``.
        """
        try:
            result = self._observe(
                operation, primary, shadow, mode, inputs, timed_out, captured, aa_paths
            )
        except Exception as exc:
            self._raised("observe", exc)
            return None
        if self.config.raise_on_divergence and result.mismatched:
            raise DivergenceError(result)
        return result

    def _observe(
        self,
        op: OperationSpec,
        primary: Observation,
        shadow: Observation,
        mode: Mode,
        inputs: Mapping[str, Any] | None,
        timed_out: bool,
        captured: Any = None,
        aa_paths: tuple[str, ...] | None = None,
    ) -> Result:
        found = timeout_comparison() if timed_out else compare(primary, shadow, self._opts(op))
        health = self.health_of(found)
        comparison = found if health else self._apply_rules(op, found)
        if self.calibration is not None and health is None:
            self.calibration.add("ab", op.domain, op.name, comparison.diff_paths)
        result = Result(op.domain, op.name, mode, primary, shadow, comparison)
        held = health is None and self._hold(result, aa_paths, inputs, captured)
        counted = _as_ignored(result) if held else self._unless_noise(result)
        self._count(counted, health is not None)
        for listener in self._listeners:
            self._notify(listener, counted)
        if health is not None:
            self._unhealthy(op, health, result, inputs)
        elif result.mismatched and not held:
            self._record(result, inputs or {}, captured)
        self._note_outage(result)
        return counted

    def _hold(
        self,
        result: Result,
        aa_paths: tuple[str, ...] | None,
        inputs: Mapping[str, Any] | None,
        captured: Any,
    ) -> bool:
        """Hold ``result`` if every path it differs at is noise, judged or likely.

        Once calibration has judged: each path is judged noise, or A/A saw it differ and no
        verdict calls it real, and the group is neither judged noise yet nor overruled. While
        the operation warms up: each path differed A/A too, in the call's own A/A run
        (``aa_paths``), or, when it had none (``WARMING``: no free slot, preempted), in the
        A/A runs of the operation before it in this process; with none before it either,
        nothing is known yet and it is held too.
        """
        if not result.mismatched or not result.diff_paths:
            return False
        paths = set(normalise_paths(result.diff_paths))
        if self._judged_noise(result, paths):
            return self._held(result, inputs, captured)
        if aa_paths is None:
            return False
        if aa_paths is WARMING:
            seen = self._aa_differed.get((result.domain, result.operation))
            if seen is not None and not paths <= seen:
                return False
        elif not paths <= set(normalise_paths(aa_paths)):
            return False
        return self._held(result, inputs, captured)

    def _judged_noise(self, result: Result, paths: set[str]) -> bool:
        """Once calibration has judged: is every path judged noise, or seen to differ A/A (in
        the store or in this process since) without a verdict calling it real?"""
        if not self.judged:
            return False
        key = (result.domain, result.operation)
        seen = self._aa_differed.get(key, set()) - self.real_paths.get(key, frozenset())
        if not paths <= self.noise_paths.get(key, frozenset()) | seen:
            return False
        found = _signature_of(result)
        return found not in self.noise and found not in self.overruled

    def _held(self, result: Result, inputs: Mapping[str, Any] | None, captured: Any) -> bool:
        try:
            return self.held.hold(self.divergence(result, inputs or {}, captured))
        except Exception as exc:
            self._raised("hold", exc)
            return False

    def release(self, signatures: set[str]) -> int:
        """Record the held divergences of ``signatures`` (judged now); how many."""
        return self.held.release(signatures, self._sink.record)

    def calibrate(
        self, operation: OperationSpec, first: Observation, second: Observation, *, mode: Mode
    ) -> Result | None:
        """Compare an A/A pair (the primary's path twice) and count it apart, per field path.

        Nothing of it is recorded, counted in the rollup or the comparisons, or seen by
        listeners; ``dualpath_calibration_runs_total`` counts the runs.
        """
        try:
            found = compare(first, second, self._opts(operation))
            comparison = self._apply_rules(operation, found)
            seen = self._aa_differed.setdefault((operation.domain, operation.name), set())
            seen.update(normalise_paths(comparison.diff_paths))
            if self.calibration is not None:
                self.calibration.add("aa", operation.domain, operation.name, comparison.diff_paths)
            self._metrics.calibration_runs.labels(operation.domain, operation.name).inc()
            return Result(operation.domain, operation.name, mode, first, second, comparison)
        except Exception as exc:
            self._raised("calibrate", exc)
            return None

    def _unless_noise(self, result: Result) -> Result:
        """``result``, or, if its group is judged noise, the same call counted as ignored."""
        if not (self.noise and result.mismatched):
            return result
        if _signature_of(result) not in self.noise:
            return result
        return _as_ignored(result)

    @staticmethod
    def health_of(found: Comparison) -> str | None:
        """The shadow's own failure this comparison stands for (a health kind), if any.

        A ``shadow_error`` is a shadow-only infrastructure error (``shadow.errors``); a
        shadow-only error of any other class is an ``error_mismatch``, a divergence.
        """
        return {SHADOW_TIMEOUT: TIMEOUT, SHADOW_ERROR: INFRASTRUCTURE}.get(found.kind or "")

    def _unhealthy(
        self, op: OperationSpec, kind: str, result: Result, inputs: Mapping[str, Any] | None
    ) -> None:
        shadow = result.shadow
        try:
            exemplar = health_exemplar(
                op, kind, mode=result.mode, shadow_path=shadow.path,
                elapsed_s=shadow.duration_s, inputs=inputs, error=shadow.error,
            )  # fmt: skip
            self.coverage.unhealthy(exemplar)
        except Exception as exc:
            self._raised("health", exc)

    def caused_by_infrastructure(self, result: Result) -> bool:
        """Whether ``result`` differs because a side failed for an infrastructure reason.

        A ``shadow_error`` is so by definition; an ``error_mismatch`` is when the error of
        either side is an infrastructure error (``EngineConfig.infrastructure``).
        """
        if not result.mismatched:
            return False
        if result.kind == SHADOW_ERROR:
            return True
        infrastructure = self.config.infrastructure
        return any(
            side.error is not None and is_infrastructure(side.error, infrastructure)
            for side in (result.primary, result.shadow)
        )

    def _note_outage(self, result: Result) -> None:
        """Shadowed calls failing for an infrastructure reason are one outage, not one each.

        It lasts while either side fails so, whether the two then agree or not.
        """
        infrastructure = self.config.infrastructure
        for side in (result.shadow, result.primary):
            if side.error is not None and is_infrastructure(side.error, infrastructure):
                self.outage.failed(side.error, domain=result.domain, operation=result.operation)
                return
        self.outage.succeeded()

    def _opts(self, op: OperationSpec) -> CompareOptions:
        key = (op.domain, op.name)
        options = self._options.get(key)
        if options is None:
            options = self._options[key] = CompareOptions(
                op.unordered,
                frozenset(op.ignore_fields),
                self.config.infrastructure,
                self.config.alike,
            )
        return options

    def _apply_rules(self, op: OperationSpec, found: Comparison) -> Comparison:
        if found.matched:
            return found
        kept = []
        for m in found.mismatches:
            paths = self._rules.remaining(op.domain, op.name, m.paths)
            if paths:
                kept.append(m if paths == m.paths else _narrowed(m, paths))
        return Comparison(tuple(kept), ignored=not kept)

    def _count(self, result: Result, health: bool) -> None:
        try:
            domain, name, comparison = result.domain, result.operation, result.comparison
            kind, ignored = comparison.kind, comparison.ignored
            if not health:
                self._metrics.count(domain, name, kind or ("ignored" if ignored else "match"))
            self._metrics.observe(domain, name, result.primary)
            self._metrics.observe(domain, name, result.shadow)
            self._rollup.add(
                domain, name, kind, ignored, result.primary, result.shadow, self.config.refusals,
                health=health,
            )  # fmt: skip
        except Exception as exc:
            self._raised("count", exc)

    def _notify(self, listener: Callable[[Result], None], result: Result) -> None:
        try:
            listener(result)
        except Exception as exc:
            self._raised("listener", exc)

    def _record(self, result: Result, inputs: Mapping[str, Any], captured: Any = None) -> None:
        try:
            self._sink.record(self.divergence(result, inputs, captured))
        except Exception as exc:
            self._raised("record", exc)

    def divergence(
        self, result: Result, inputs: Mapping[str, Any], captured: Any = None
    ) -> Divergence:
        """The record of ``result`` for the store (plain data; redaction is the store's job)."""
        kind = result.kind or ""
        paths = normalise_paths(result.diff_paths)
        detail: dict[str, Any] = {}
        for m in result.comparison.mismatches:
            detail.update(m.detail)
        return Divergence(
            signature=signature(result.domain, result.operation, kind, paths),
            domain=result.domain,
            operation=result.operation,
            kind=kind,
            diff_paths=paths,
            at=datetime.now(UTC),
            mode=result.mode,
            primary_path=result.primary.path,
            inputs=normalise(dict(inputs)),
            primary_result=_side(result.primary),
            shadow_result=_side(result.shadow),
            diff=detail,
            primary_duration_ms=result.primary.duration_s * 1000.0,
            shadow_duration_ms=result.shadow.duration_s * 1000.0,
            service=self.config.service,
            code_version=self.config.code_version,
            infrastructure=self.caused_by_infrastructure(result),
            captured=captured,
        )


def _as_ignored(result: Result) -> Result:
    """The same call, counted as ignored."""
    ignored = Comparison((), ignored=True)
    return Result(result.domain, result.operation, result.mode, result.primary,
                  result.shadow, ignored)  # fmt: skip


def _signature_of(result: Result) -> str:
    paths = normalise_paths(result.diff_paths)
    return signature(result.domain, result.operation, result.kind or "", paths)


def _narrowed(m: Mismatch, paths: tuple[str, ...]) -> Mismatch:
    return Mismatch(m.kind, paths, {p: m.detail[p] for p in paths if p in m.detail})


def _side(obs: Observation) -> dict[str, Any]:
    error = None
    if obs.error is not None:
        cls = type(obs.error)
        error = {"class": f"{cls.__module__}.{cls.__qualname__}", "message": str(obs.error)}
    return {
        "path": obs.path,
        "value": None if obs.raised else normalise(obs.value),
        "error": error,
        "effects": normalise(obs.effects),
        "events": normalise_events(obs.events),
    }
