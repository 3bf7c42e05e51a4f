"""The frozen nouns of a shadow comparison: Observation, Mismatch, Comparison and Result.

An :class:`Observation` is what one path did (its value or its exception, how long it took,
what it wrote and what it published). A :class:`Comparison` says whether two observations
agree and, when they don't, which kind of divergence it is and where. A :class:`Result`
ties the two observations of one call to their comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flags.model import Mode

__all__ = [
    "EFFECT_MISMATCH",
    "ERROR_MISMATCH",
    "EVENT_MISMATCH",
    "KINDS",
    "MATCH",
    "RESULT_MISMATCH",
    "SHADOW_ERROR",
    "SHADOW_TIMEOUT",
    "Comparison",
    "Mismatch",
    "Observation",
    "Result",
]

RESULT_MISMATCH: Final = "result_mismatch"
ERROR_MISMATCH: Final = "error_mismatch"
EFFECT_MISMATCH: Final = "effect_mismatch"
EVENT_MISMATCH: Final = "event_mismatch"
SHADOW_ERROR: Final = "shadow_error"
SHADOW_TIMEOUT: Final = "shadow_timeout"

#: Every kind, in order of precedence: the first one found names the comparison.
KINDS: Final = (
    SHADOW_TIMEOUT,
    SHADOW_ERROR,
    ERROR_MISMATCH,
    RESULT_MISMATCH,
    EFFECT_MISMATCH,
    EVENT_MISMATCH,
)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one path did for one call.

    ``path`` is ``"legacy"`` or ``"async"``. Exactly one of ``value`` and ``error`` is
    meaningful: ``error`` is the exception the path raised, else ``None``. ``effects`` is the
    state of the rows a write touched, read back after it; ``events`` the events it published
    (or would have, for a shadow write that was rolled back).
    """

    path: str
    value: Any
    error: BaseException | None
    duration_s: float
    effects: Any = None
    events: tuple[Any, ...] = ()

    @property
    def raised(self) -> bool:
        """Whether the path raised instead of returning."""
        return self.error is not None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way two observations differ: a kind, the diff paths and what each side had.

    ``detail`` maps each diff path to ``{"primary": ..., "shadow": ...}`` in plain data.
    """

    kind: str
    paths: tuple[str, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The verdict on two observations.

    ``kind`` is ``None`` when they agree (or every difference was ignored), else the kind of
    the first remaining :class:`Mismatch` in :data:`KINDS` order. ``ignored`` is true when
    there were differences and ignore rules dropped all of them.
    """

    mismatches: tuple[Mismatch, ...] = ()
    ignored: bool = False

    @property
    def kind(self) -> str | None:
        """The kind of divergence, or ``None`` when there is none to report."""
        return self.mismatches[0].kind if self.mismatches else None

    @property
    def diff_paths(self) -> tuple[str, ...]:
        """The diff paths of the reported kind."""
        return self.mismatches[0].paths if self.mismatches else ()

    @property
    def matched(self) -> bool:
        """Whether nothing is left to report."""
        return not self.mismatches


#: The comparison of two agreeing observations; shared, because it is the common case.
MATCH: Final = Comparison()


@dataclass(frozen=True, slots=True)
class Result:
    """One shadowed call: both observations and their comparison.

    ``primary`` answered the caller; ``shadow`` ran beside it. ``mode`` is the routing mode
    the call ran under (``shadow`` or ``live``).
    """

    domain: str
    operation: str
    mode: Mode
    primary: Observation
    shadow: Observation
    comparison: Comparison

    @property
    def kind(self) -> str | None:
        """The kind of divergence, or ``None``."""
        return self.comparison.kind

    @property
    def mismatched(self) -> bool:
        """Whether a divergence is left to report after ignore rules."""
        return not self.comparison.matched

    @property
    def ignored(self) -> bool:
        """Whether the observations differed only in ignored ways."""
        return self.comparison.ignored

    @property
    def diff_paths(self) -> tuple[str, ...]:
        """The diff paths of the reported kind."""
        return self.comparison.diff_paths
