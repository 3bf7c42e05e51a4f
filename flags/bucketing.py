"""Which bucket (1-100) an entity key falls in: the same hash as Unleash's flexibleRollout.

Unleash computes ``murmurhash3_x86_32(f"{groupId}:{key}", seed=0) % 100 + 1`` and lets a
call through when that value is ``<= rollout``. Using the same function means a key that is
in a 25 % rollout here is in it in every Unleash SDK too, so dualpath and other services
agree on who gets the new path. With no key, Unleash's ``default`` stickiness falls back to a
random bucket, and so do we.
"""

from __future__ import annotations

import random

import mmh3

BUCKETS = 100


def bucket(group_id: str, key: str) -> int:
    """The bucket, 1-100, of ``key`` in the rollout named ``group_id``."""
    return mmh3.hash(f"{group_id}:{key}", 0, signed=False) % BUCKETS + 1


def random_bucket() -> int:
    """A random bucket, 1-100, for calls that carry no entity key."""
    return int(random.random() * BUCKETS) + 1


def in_rollout(group_id: str, key: str | None, percent: int) -> bool:
    """True when ``key`` falls inside a ``percent`` rollout of ``group_id``."""
    chosen = random_bucket() if key is None else bucket(group_id, key)
    return chosen <= percent
