"""Compare two observations: ``==`` first, normalise on a mismatch, DeepDiff only after that.

The common case (both paths returned equal values, raised nothing, wrote and published the
same) costs a few ``is``/``==`` checks and returns the shared :data:`MATCH`. Only when raw
equality fails are both sides normalised (see :mod:`shadow.normalise`) and compared again;
only when that fails too does DeepDiff run, to name the differing fields.

Diff paths are DeepDiff's: ``root['stats']['current_health']`` for results,
``effects[...]`` for effects and ``events[0]['new_hp']`` for events. An error difference has
the single path ``error`` and a timeout the path ``timeout``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from shadow.errors import (
    DEFAULT_INFRASTRUCTURE,
    classify_errors,
    error_identity,
    error_lineage,
    error_name,
)
from shadow.normalise import normalise, normalise_events
from shadow.observation import (
    EFFECT_MISMATCH,
    EVENT_MISMATCH,
    MATCH,
    RESULT_MISMATCH,
    SHADOW_TIMEOUT,
    Comparison,
    Mismatch,
    Observation,
)

__all__ = ["ABSENT", "CompareOptions", "compare", "diff_values", "timeout_comparison"]

#: Stands for "no such field on this side" in a diff's detail.
ABSENT: Final = "<absent>"


@dataclass(frozen=True, slots=True)
class CompareOptions:
    """How to compare one operation's observations.

    ``unordered``: a list result's order is not part of the contract. ``ignore_fields``:
    top-level result fields that legitimately differ. ``infrastructure``: error class names
    that make a shadow-only error a ``shadow_error`` (see :mod:`shadow.errors`). ``alike``:
    class name → the name it is compared as (``ErrorMeanings.alike``).
    """

    unordered: bool = False
    ignore_fields: frozenset[str] = frozenset()
    infrastructure: frozenset[str] = DEFAULT_INFRASTRUCTURE
    alike: Mapping[str, str] = field(default_factory=dict)


DEFAULT_OPTIONS: Final = CompareOptions()


def compare(
    primary: Observation, shadow: Observation, options: CompareOptions = DEFAULT_OPTIONS
) -> Comparison:
    """Compare what the primary and the shadow did; :data:`MATCH` when they agree."""
    if _same(primary.error, shadow.error, primary.value, shadow.value) and _same_side_effects(
        primary, shadow
    ):
        return MATCH
    mismatches = _mismatches(primary, shadow, options)
    return Comparison(mismatches) if mismatches else MATCH


def timeout_comparison() -> Comparison:
    """The comparison for a shadow that did not finish in time."""
    return Comparison((Mismatch(SHADOW_TIMEOUT, ("timeout",), {}),))


def diff_values(a: Any, b: Any, root: str = "root") -> dict[str, Any]:
    """Field-level differences of two plain values: ``{path: {"primary", "shadow"}}``."""
    tree = DeepDiff(a, b, view="tree")
    detail: dict[str, Any] = {}
    for levels in tree.values():
        for level in levels:
            detail[level.path(root=root)] = {
                "primary": _side(level.t1),
                "shadow": _side(level.t2),
            }
    return dict(sorted(detail.items()))


def _same(e1: BaseException | None, e2: BaseException | None, v1: Any, v2: Any) -> bool:
    if e1 is not None or e2 is not None:
        return False
    return _raw_equal(v1, v2)


def _same_side_effects(primary: Observation, shadow: Observation) -> bool:
    return _raw_equal(primary.effects, shadow.effects) and _raw_equal(primary.events, shadow.events)


def _raw_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _mismatches(
    primary: Observation, shadow: Observation, options: CompareOptions
) -> tuple[Mismatch, ...]:
    found = [
        _error_mismatch(primary, shadow, options),
        _result_mismatch(primary, shadow, options),
        _plain_mismatch(EFFECT_MISMATCH, "effects", primary.effects, shadow.effects),
        _events_mismatch(primary, shadow),
    ]
    return tuple(m for m in found if m is not None)


def _error_mismatch(
    primary: Observation, shadow: Observation, options: CompareOptions
) -> Mismatch | None:
    p = error_identity(primary.error, options.alike)
    s = error_identity(shadow.error, options.alike)
    lineage = error_lineage(shadow.error) if shadow.error is not None else ()
    kind = classify_errors(p, s, options.infrastructure, lineage)
    if kind is None:
        return None
    detail = {
        "error": {"primary": _error_detail(primary.error), "shadow": _error_detail(shadow.error)}
    }
    return Mismatch(kind, ("error",), detail)


def _result_mismatch(
    primary: Observation, shadow: Observation, options: CompareOptions
) -> Mismatch | None:
    if primary.raised or shadow.raised or _raw_equal(primary.value, shadow.value):
        return None
    a = _drop_fields(normalise(primary.value, unordered=options.unordered), options.ignore_fields)
    b = _drop_fields(normalise(shadow.value, unordered=options.unordered), options.ignore_fields)
    return _diff_mismatch(RESULT_MISMATCH, "root", a, b)


def _plain_mismatch(kind: str, root: str, a: Any, b: Any) -> Mismatch | None:
    if _raw_equal(a, b):
        return None
    return _diff_mismatch(kind, root, normalise(a), normalise(b))


def _events_mismatch(primary: Observation, shadow: Observation) -> Mismatch | None:
    if _raw_equal(primary.events, shadow.events):
        return None
    a, b = normalise_events(primary.events), normalise_events(shadow.events)
    return _diff_mismatch(EVENT_MISMATCH, "events", a, b)


def _diff_mismatch(kind: str, root: str, a: Any, b: Any) -> Mismatch | None:
    if a == b:
        return None
    detail = diff_values(a, b, root) or {root: {"primary": a, "shadow": b}}
    return Mismatch(kind, tuple(detail), detail)


def _drop_fields(value: Any, fields: Collection[str]) -> Any:
    if not fields:
        return value
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [_drop_fields(item, fields) for item in value]
    return value


def _error_detail(error: BaseException | None) -> dict[str, str] | None:
    if error is None:
        return None
    return {"class": error_name(error) or "", "message": str(error)}


def _side(value: Any) -> Any:
    return ABSENT if value is notpresent else value
