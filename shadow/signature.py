"""Group divergences: a signature is a hash of where and how two paths disagreed.

List indices are stripped from diff paths (``root['inventory'][3]['qty']`` becomes
``root['inventory'][*]['qty']``), so the same bug on the fourth and the fifth item lands in
one group. String keys are kept: ``root['stats']['fear']`` stays itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["MAX_PATHS", "normalise_path", "normalise_paths", "signature"]

#: At most this many distinct normalised paths define (and are stored with) a group.
MAX_PATHS: Final = 50

_INDEX = re.compile(r"\[\d+\]")


def normalise_path(path: str) -> str:
    """``path`` with every list index replaced by ``[*]``."""
    return _INDEX.sub("[*]", path)


def normalise_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """Distinct normalised paths, sorted, at most :data:`MAX_PATHS` of them."""
    return tuple(sorted({normalise_path(p) for p in paths}))[:MAX_PATHS]


def signature(domain: str, operation: str, kind: str, paths: Iterable[str]) -> str:
    """A stable 32-hex-digit id for (domain, operation, kind, normalised paths)."""
    key = json.dumps([domain, operation, kind, list(normalise_paths(paths))])
    return hashlib.sha256(key.encode()).hexdigest()[:32]
