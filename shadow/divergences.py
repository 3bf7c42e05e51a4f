"""The divergences API: list groups and exemplars, decide on groups, read the rollup.

Decisions move a group between ``open``, ``ignored`` and ``fixed``, recording who, why and
when; calibration moves groups between ``open`` and ``noise`` (``shadow.noise_groups``).
``ignore()`` also adds one ignore rule per diff path of the group (tagged with its
signature), so identical divergences stop being recorded; ``reopen()`` ends those rules, and
reopening a ``noise`` group overrules calibration for it. ``mark_fixed()`` records the code
version of the fix; if the group recurs, the store reopens it with the recurring version.
An unknown signature raises :class:`UnknownSignature`, a ``KeyError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shadow import sql
from shadow.ignore import IgnoreRule, IgnoreRules, IgnoreRuleStore
from shadow.noise_groups import NoiseJudge
from shadow.pool import LazyPool
from shadow.records import DivergenceGroup, Exemplar, OperationTotals, RollupRow
from shadow.rollup import PATHS, percentile
from shadow.store import DivergenceStore

__all__ = ["STATUSES", "Divergences", "UnknownSignature"]

STATUSES = ("open", "ignored", "fixed", "noise")


class UnknownSignature(KeyError):
    """No divergence group has this signature."""

    def __str__(self) -> str:
        return f"no divergence group with signature {self.args[0]!r}"


class Divergences:
    """Read and decide on divergence groups (what ``System.divergences`` exposes)."""

    def __init__(
        self,
        pool: LazyPool,
        store: DivergenceStore,
        rules: IgnoreRules,
        rule_store: IgnoreRuleStore,
        noise: NoiseJudge | None = None,
        engine: Any = None,
    ) -> None:
        self._pool = pool
        self._store = store
        self._rules = rules
        self._rule_store = rule_store
        self.noise = noise
        self._engine = engine

    async def calibrate(self) -> frozenset[str]:
        """Judge the groups from calibration's counts now; the signatures judged noise.

        First the mismatches the engine held whose paths are judged now are recorded, so their
        groups are judged in the same pass.
        """
        if self.noise is None:
            return frozenset()
        if self._engine is not None:
            await self._release_held()
        judged = await self.noise.judge()
        if self._engine is not None:
            self._engine.noise = judged
            self._engine.noise_paths = self.noise.noise_paths
            self._engine.real_paths = self.noise.real_paths
            self._engine.judged = True
            self._engine.overruled = self.noise.overruled
        return judged

    async def groups(
        self,
        domain: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[DivergenceGroup]:
        """Groups, most recently seen first, optionally filtered."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        rows = await self._pool.fetch(sql.SELECT_GROUPS, domain, status, kind, limit)
        return [_group(row) for row in rows]

    async def group(self, signature: str) -> DivergenceGroup:
        """One group; :class:`UnknownSignature` if there is none."""
        row = await self._pool.fetchrow(
            "SELECT * FROM divergence_groups WHERE signature = $1", signature
        )
        if row is None:
            raise UnknownSignature(signature)
        return _group(row)

    async def exemplars(self, signature: str) -> list[Exemplar]:
        """The stored exemplars of a group, newest first."""
        await self.group(signature)
        rows = await self._pool.fetch(
            "SELECT * FROM divergence_exemplars WHERE signature = $1 ORDER BY id DESC", signature
        )
        return [_exemplar(row) for row in rows]

    async def ignore(
        self, signature: str, *, reason: str, actor: str, expires_at: datetime | None = None
    ) -> DivergenceGroup:
        """Ignore a group, and add rules so its divergences are no longer recorded."""
        group = await self._set_status(signature, "ignored", actor, reason)
        for path in group.diff_paths:
            rule = IgnoreRule(
                group.domain, group.operation, path, reason, actor, expires_at, signature
            )
            await self._rule_store.add(rule)
        await self.reload_rules()
        return group

    async def reopen(self, signature: str, *, actor: str, reason: str = "") -> DivergenceGroup:
        """Reopen a group, ending the ignore rules that ``ignore()`` made for it.

        Reopening a ``noise`` group overrules calibration: it stays open and counts again.
        """
        await self._pool.execute(
            "UPDATE divergence_groups SET noise_overruled = true"
            " WHERE signature = $1 AND status = 'noise'",
            signature,
        )
        group = await self._set_status(signature, "open", actor, reason)
        if self._engine is not None:
            self._engine.noise = self._engine.noise - {signature}
            self._engine.overruled = self._engine.overruled | {signature}
        await self._rule_store.expire_for_signature(signature)
        await self.reload_rules()
        return group

    async def mark_fixed(
        self, signature: str, *, actor: str, reason: str = "", version: str = ""
    ) -> DivergenceGroup:
        """Mark a group fixed in code ``version``; it reopens by itself if it diverges again."""
        group = await self._set_status(signature, "fixed", actor, reason)
        row = await self._pool.fetchrow(
            "UPDATE divergence_groups SET fixed_version = $2, recurred_version = NULL"
            " WHERE signature = $1 RETURNING *",
            signature,
            version or None,
        )
        return _group(row) if row is not None else group

    async def reload_rules(self) -> None:
        """Reload the ignore rules in force from the database now."""
        self._rules.replace(await self._rule_store.load())

    async def _release_held(self) -> None:
        """Record the held mismatches judged now, before the groups are judged."""
        held = getattr(self._engine, "held", None)
        if self.noise is None or held is None:
            return
        waiting = held.waiting()
        if waiting and self._engine.release(await self.noise.settled(waiting)):
            await self._store.flush()

    async def flush(self, max_wait_s: float = 5.0) -> None:
        """Wait until every divergence recorded so far is stored."""
        await self._store.flush(max_wait_s)

    async def rollup(
        self,
        domain: str | None = None,
        since: datetime | timedelta = timedelta(hours=3),
        operation: str | None = None,
    ) -> list[RollupRow]:
        """Per-minute rows for the dashboard, summed over operations unless one is given."""
        start = datetime.now(UTC) - since if isinstance(since, timedelta) else since
        rows = await self._pool.fetch(sql.SELECT_ROLLUP, start, domain, operation)
        return _rollup_rows(rows, operation)

    async def operation_totals(self, starts: Mapping[str, datetime]) -> list[OperationTotals]:
        """Per (domain, operation), the rollup summed from that domain's start minute on."""
        domains = list(starts)
        rows = await self._pool.fetch(
            sql.SELECT_OPERATION_TOTALS, domains, [starts[d] for d in domains]
        )
        return [_totals(row) for row in rows]

    async def _set_status(
        self, signature: str, status: str, actor: str, reason: str
    ) -> DivergenceGroup:
        if not actor.strip():
            raise ValueError("a decision needs an actor")
        row = await self._pool.fetchrow(
            "UPDATE divergence_groups SET status = $2, status_by = $3, status_reason = $4,"
            " status_at = now() WHERE signature = $1 RETURNING *",
            signature,
            status,
            actor,
            reason,
        )
        if row is None:
            raise UnknownSignature(signature)
        return _group(row)


def _group(row: Any) -> DivergenceGroup:
    return DivergenceGroup(
        signature=row["signature"],
        domain=row["domain"],
        operation=row["operation"],
        kind=row["kind"],
        diff_paths=tuple(row["diff_paths"]),
        count=int(row["count"]),
        status=row["status"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        status_reason=row["status_reason"],
        status_by=row["status_by"],
        status_at=row["status_at"],
        noise_evidence=_json(row.get("noise_evidence")),
        noise_overruled=bool(row.get("noise_overruled", False)),
        fixed_version=row.get("fixed_version"),
        recurred_version=row.get("recurred_version"),
    )


def _totals(row: Any) -> OperationTotals:
    return OperationTotals(
        domain=row["domain"],
        operation=row["operation"],
        **{k: int(row[k]) for k in ("calls", "comparisons", "divergences", "ignored", "timeouts")},
        errors={p: int(row[f"{p}_errors"]) for p in PATHS},
        first_minute=row["first_minute"],
        last_minute=row["last_minute"],
        served=int(row["served"]),
        skipped=_summed_maps(_json(row["skipped"])),
        health=_summed_maps(_json(row["shadow_health"])),
    )


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _exemplar(row: Any) -> Exemplar:
    return Exemplar(
        id=row["id"],
        signature=row["signature"],
        inputs=_json(row["inputs"]),
        primary_path=row["primary_path"],
        primary_result=_json(row["primary_result"]),
        shadow_result=_json(row["shadow_result"]),
        diff=_json(row["diff"]),
        service=row["service"],
        mode=row["mode"],
        primary_duration_ms=row["primary_duration_ms"],
        shadow_duration_ms=row["shadow_duration_ms"],
        code_version=row["code_version"],
        created_at=row["created_at"],
        captured=_json(row.get("captured")),
    )


_COUNTS = ("calls", "comparisons", "divergences", "ignored", "timeouts")
_SUMMED = (
    *_COUNTS,
    "served",
    *(f"{p}_errors" for p in PATHS),
    *(f"{p}_latency_sum_ms" for p in PATHS),
)


def _rollup_rows(rows: Sequence[Any], operation: str | None) -> list[RollupRow]:
    merged: dict[tuple[datetime, str], dict[str, Any]] = {}
    for row in rows:
        acc = merged.get((row["minute"], row["domain"]))
        if acc is None:
            merged[(row["minute"], row["domain"])] = acc = {k: row[k] for k in _SUMMED} | {
                f"{p}_hist": list(row[f"{p}_latency_hist"]) for p in PATHS
            }
            acc["skipped"], acc["health"] = [], []
        else:
            for k in _SUMMED:
                acc[k] += row[k]
            for p in PATHS:
                acc[f"{p}_hist"] = [
                    a + b for a, b in zip(acc[f"{p}_hist"], row[f"{p}_latency_hist"], strict=True)
                ]
        acc["skipped"].append(_json(row["skipped"]))
        acc["health"].append(_json(row["shadow_health"]))
    return [_rollup_row(minute, domain, operation, acc) for (minute, domain), acc in merged.items()]


def _rollup_row(
    minute: datetime, domain: str, operation: str | None, acc: dict[str, Any]
) -> RollupRow:
    hists = {p: acc[f"{p}_hist"] for p in PATHS}
    return RollupRow(
        minute=minute,
        domain=domain,
        operation=operation,
        **{k: int(acc[k]) for k in _COUNTS},
        errors={p: int(acc[f"{p}_errors"]) for p in PATHS},
        latency_mean_ms={p: _mean(acc[f"{p}_latency_sum_ms"], hists[p]) for p in PATHS},
        latency_p50_ms={p: percentile(hists[p], 0.5) for p in PATHS},
        latency_p99_ms={p: percentile(hists[p], 0.99) for p in PATHS},
        served=int(acc["served"]),
        skipped=_summed_maps(acc["skipped"]),
        health=_summed_maps(acc["health"]),
    )


def _summed_maps(maps: Any) -> dict[str, int]:
    """Counts by name, summed over ``maps`` (a list of ``{name: count}``, or one of them)."""
    total: dict[str, int] = {}
    for found in [maps] if isinstance(maps, dict) else maps or ():
        for name, n in (found or {}).items():
            total[name] = total.get(name, 0) + int(n)
    return total


def _mean(total_ms: float, hist: Sequence[int]) -> float | None:
    count = sum(hist)
    return total_ms / count if count else None
