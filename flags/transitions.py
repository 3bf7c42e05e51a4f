"""Which mode changes are legal: one step forward, or any step back; a jump must be forced.

The rollout order is ``legacy → shadow → live → async``. From any mode a change may:

* stay in the same mode (a new percent or service list),
* go one step forward (``shadow → live``),
* go back to any earlier mode (``async → shadow``, ``live → legacy``).

Anything else (``legacy → live``, ``shadow → async``) is a jump: it is refused with
:class:`TransitionError` unless the caller forces it, and a forced change is audited as such.
Every provider's ``set`` calls :func:`check_transition`, so the rule lives here only. The
guard's rollbacks (:func:`step_back`) are always legal steps back.
"""

from __future__ import annotations

from typing import Final

from flags.model import MODES, SAFE_MODE, FlagError, Mode

__all__ = ["RANK", "TransitionError", "check_transition", "is_jump", "step_back"]

#: Each mode's position in the rollout order.
RANK: Final[dict[str, int]] = {mode: index for index, mode in enumerate(MODES)}

#: Where the guard takes a domain whose current mode breached its thresholds.
_FALLBACK: Final[dict[str, Mode]] = {"async": "legacy", "live": "shadow", "shadow": "legacy"}


class TransitionError(FlagError):
    """A change would skip a step of the rollout and was not forced; nothing was changed."""


def is_jump(current: Mode, wanted: Mode) -> bool:
    """True when ``wanted`` is more than one step ahead of ``current``."""
    return RANK[wanted] > RANK[current] + 1


def check_transition(current: Mode | None, wanted: Mode, *, forced: bool = False) -> None:
    """Nothing if ``current → wanted`` is legal (or forced), else :class:`TransitionError`."""
    current = current or SAFE_MODE
    if forced or not is_jump(current, wanted):
        return
    path = " → ".join(MODES[RANK[current] : RANK[wanted] + 1])
    raise TransitionError(
        f"{current} → {wanted} skips a step of the rollout ({path}); move one step at a time, "
        "or force the jump (--force on the command line, force=true in the API)"
    )


def step_back(mode: Mode) -> Mode:
    """The last safe mode below ``mode``: async → legacy, live → shadow, shadow → legacy."""
    return _FALLBACK.get(mode, SAFE_MODE)
