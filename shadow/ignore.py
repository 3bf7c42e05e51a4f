"""Ignore rules: known, accepted differences that are dropped before anything is recorded.

A rule names a domain, an operation and a diff path, with a reason, an owner and an optional
expiry. Paths are compared after list indices are normalised (``[3]`` → ``[*]``), and a path
ending in ``*`` matches every path that starts with what precedes it
(``root['stats']*`` matches ``root['stats']['fear']``). A rule whose ``expires_at`` has
passed stops matching by itself: expiry is checked at match time, not at load time.

:class:`IgnoreRules` is the in-memory matcher on the comparison path; its rule set is
replaced whole (a single attribute swap), so readers need no lock. :class:`IgnoreRuleStore`
keeps rules in PostgreSQL (``shadow_ignore_rules``) and :func:`refresh_rules` reloads them
periodically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from observability import Outage
from shadow.pool import LazyPool
from shadow.signature import normalise_path

__all__ = ["IgnoreRule", "IgnoreRuleStore", "IgnoreRules", "refresh_rules"]


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One accepted difference: ``path`` of ``domain``/``operation``, and why, and until when."""

    domain: str
    operation: str
    path: str
    reason: str
    owner: str
    expires_at: datetime | None = None
    signature: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", normalise_path(self.path))

    def live(self, now: datetime) -> bool:
        """Whether the rule still applies at ``now``."""
        return self.expires_at is None or now < self.expires_at

    def matches(self, path: str) -> bool:
        """Whether the rule covers diff path ``path`` (expiry not considered)."""
        path = normalise_path(path)
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


class IgnoreRules:
    """The rules in force, indexed by (domain, operation) for the comparison path."""

    def __init__(self, rules: Iterable[IgnoreRule] = ()) -> None:
        self._index: dict[tuple[str, str], tuple[IgnoreRule, ...]] = {}
        self.replace(rules)

    def replace(self, rules: Iterable[IgnoreRule]) -> None:
        """Swap in a new rule set."""
        index: dict[tuple[str, str], list[IgnoreRule]] = {}
        for rule in rules:
            index.setdefault((rule.domain, rule.operation), []).append(rule)
        self._index = {key: tuple(group) for key, group in index.items()}

    def remaining(
        self, domain: str, operation: str, paths: tuple[str, ...], now: datetime | None = None
    ) -> tuple[str, ...]:
        """The paths that no live rule of ``domain``/``operation`` covers."""
        rules = self._index.get((domain, operation))
        if not rules:
            return paths
        at = now or datetime.now(UTC)
        live = [rule for rule in rules if rule.live(at)]
        return tuple(p for p in paths if not any(rule.matches(p) for rule in live))

    def __len__(self) -> int:
        return sum(len(group) for group in self._index.values())


class IgnoreRuleStore:
    """Ignore rules in PostgreSQL."""

    def __init__(self, pool: LazyPool) -> None:
        self._pool = pool

    async def load(self) -> list[IgnoreRule]:
        """Every rule that has not expired yet."""
        rows = await self._pool.fetch(
            "SELECT id, domain, operation, path, reason, owner, expires_at, signature"
            " FROM shadow_ignore_rules WHERE expires_at IS NULL OR expires_at > now()"
        )
        return [_rule(row) for row in rows]

    async def add(self, rule: IgnoreRule) -> IgnoreRule:
        """Store ``rule`` and return it with its id."""
        row = await self._pool.fetchrow(
            "INSERT INTO shadow_ignore_rules"
            " (domain, operation, path, reason, owner, expires_at, signature)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            rule.domain,
            rule.operation,
            rule.path,
            rule.reason,
            rule.owner,
            rule.expires_at,
            rule.signature,
        )
        return _rule(row)

    async def expire_for_signature(self, signature: str) -> int:
        """End the rules made by ignoring group ``signature``; how many were live."""
        status = await self._pool.execute(
            "UPDATE shadow_ignore_rules SET expires_at = now()"
            " WHERE signature = $1 AND (expires_at IS NULL OR expires_at > now())",
            signature,
        )
        return int(status.rsplit(" ", 1)[1])


async def refresh_rules(store: IgnoreRuleStore, rules: IgnoreRules, interval: float = 5.0) -> None:
    """Reload ``rules`` from ``store`` every ``interval`` seconds, forever; failures are logged."""
    outage = Outage("shadow.rules")
    while True:
        try:
            rules.replace(await store.load())
        except Exception as exc:
            outage.failed(exc)
        else:
            outage.succeeded()
        await asyncio.sleep(interval)


def _rule(row: Any) -> IgnoreRule:
    return IgnoreRule(
        domain=row["domain"],
        operation=row["operation"],
        path=row["path"],
        reason=row["reason"],
        owner=row["owner"],
        expires_at=row["expires_at"],
        signature=row["signature"],
        id=row["id"],
    )
