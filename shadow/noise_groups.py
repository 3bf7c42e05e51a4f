"""Calibration's decisions: which divergence groups are noise, and which ignore rules it proposes.

:meth:`NoiseJudge.judge` writes the A/A and A/B counts, judges every field path
(:func:`shadow.noise.noise_verdict`) and then every ``open`` or ``noise`` group: a group whose
differing paths are all noise gets status ``noise`` (by ``calibration``), with its evidence;
a ``noise`` group with a path that no longer is goes back to ``open``; an ``open`` group keeps
the evidence too (``inconclusive`` or ``real``). A group ops reopened from ``noise`` is
overruled and left alone. The engine is told which groups are noise, so their divergences are
still recorded but count against neither readiness nor the guard, and which paths are noise
(or seen to differ A/A with no verdict yet), so a mismatch of a new signature at those paths
only is held until the next judgement records it, in a group judged noise if they are.
:meth:`settled` says which of the mismatches the engine holds (``shadow.held``) have their
verdict, to be recorded.

Paths judged noise that no live ignore rule covers are proposed as ignore rules; accepting one
adds the rule with the evidence as its reason and the actor as its owner (the audit).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from shadow.calibration import CALLS, CalibrationCounts
from shadow.held import Held
from shadow.ignore import IgnoreRule, IgnoreRules, IgnoreRuleStore
from shadow.noise import NoiseRule, NoiseVerdict, noise_verdict
from shadow.pool import LazyPool
from shadow.signature import normalise_path

__all__ = ["NoiseJudge", "Proposal"]

SELECT_JUDGED = """
SELECT signature, domain, operation, diff_paths, status FROM divergence_groups
WHERE status IN ('open', 'noise') AND NOT noise_overruled
"""

SELECT_OVERRULED = "SELECT signature FROM divergence_groups WHERE noise_overruled"

UPDATE_JUDGED = """
UPDATE divergence_groups g SET
    noise_evidence = v.evidence::jsonb,
    status = v.status,
    status_by = CASE WHEN g.status <> v.status THEN 'calibration' ELSE g.status_by END,
    status_reason = CASE WHEN g.status <> v.status THEN v.reason ELSE g.status_reason END,
    status_at = CASE WHEN g.status <> v.status THEN now() ELSE g.status_at END
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(signature, status, reason,
                                                                  evidence)
WHERE g.signature = v.signature AND g.status IN ('open', 'noise') AND NOT g.noise_overruled
"""


@dataclass(frozen=True, slots=True)
class Proposal:
    """An ignore rule calibration proposes: a path judged noise that no rule covers yet."""

    verdict: NoiseVerdict

    @property
    def reason(self) -> str:
        """The rule's reason: the evidence, in one line."""
        return f"calibration: {self.verdict.summary()}"


class NoiseJudge:
    """Judges field paths and groups from the calibration counts; proposes ignore rules."""

    def __init__(
        self,
        pool: LazyPool,
        counts: CalibrationCounts,
        rules: IgnoreRules,
        rule_store: IgnoreRuleStore,
        rule: NoiseRule | None = None,
    ) -> None:
        self._pool = pool
        self.counts = counts
        self._rules = rules
        self._rule_store = rule_store
        self.rule = rule or NoiseRule()
        #: After :meth:`judge`: how many groups of each domain are noise.
        self.noise_by_domain: dict[str, int] = {}
        #: After :meth:`judge`: the A/A runs stored per (domain, operation).
        self.aa_calls: dict[tuple[str, str], int] = {}
        #: After :meth:`judge`: per (domain, operation), the paths judged noise, and those the
        #: A/A runs saw differ that no verdict calls real yet (likely noise).
        self.noise_paths: dict[tuple[str, str], frozenset[str]] = {}
        #: After :meth:`judge`: per (domain, operation), the paths judged real.
        self.real_paths: dict[tuple[str, str], frozenset[str]] = {}
        #: After :meth:`judge`: the groups ops reopened from ``noise`` (calibration's hands off).
        self.overruled: frozenset[str] = frozenset()

    def aa_runs(self, domain: str, operation: str) -> int:
        """The A/A runs of ``operation`` stored when it was last judged (0 before)."""
        return self.aa_calls.get((domain, operation), 0)

    async def verdicts(self) -> list[NoiseVerdict]:
        """Every field path's verdict, from what is stored (flush first to include the rest)."""
        await self.counts.flush()
        stored = await self.counts.load()
        found = []
        for (domain, operation), paths in sorted(stored.items()):
            for path in sorted(p for p in paths if p != CALLS):
                found.append(self._verdict(domain, operation, path, paths))
        return found

    async def judge(self) -> frozenset[str]:
        """Judge every open or noise group; the signatures of the groups that are noise.

        What it tells (the runs, the paths, the overruled groups) is set at the end, at once:
        a warm-up never ends before the paths it judged are known.
        """
        await self.counts.flush()
        stored = await self.counts.load()
        overruled = await self._pool.fetch(SELECT_OVERRULED)
        rows = await self._pool.fetch(SELECT_JUDGED)
        decided = [self._decide(row, stored.get((row["domain"], row["operation"]), {}))
                   for row in rows]  # fmt: skip
        if decided:
            await self._pool.execute(UPDATE_JUDGED, *map(list, zip(*decided, strict=True)))
        noise = [
            (row["domain"], signature)
            for row, (signature, status, _, _) in zip(rows, decided, strict=True)
            if status == "noise"
        ]
        self.noise_by_domain = dict(Counter(domain for domain, _ in noise))
        self.noise_paths, self.real_paths = self._paths(stored)
        self.overruled = frozenset(row["signature"] for row in overruled)
        self.aa_calls = {key: paths.get(CALLS, (0, 0))[0] for key, paths in stored.items()}
        return frozenset(signature for _, signature in noise)

    async def settled(self, held: Mapping[str, Held]) -> set[str]:
        """The held signatures judged now: each path's verdict made on enough calls, or real."""
        await self.counts.flush()
        stored = await self.counts.load()
        found = set()
        for signature, h in held.items():
            paths = stored.get((h.domain, h.operation), {})
            verdicts = [self._verdict(h.domain, h.operation, normalise_path(p), paths)
                        for p in h.diff_paths]  # fmt: skip
            if any(v.status == "real" for v in verdicts) or all(
                v.aa_calls >= self.rule.min_aa_calls and v.ab_calls >= self.rule.min_ab_calls
                for v in verdicts
            ):
                found.add(signature)
        return found

    async def proposals(self) -> list[Proposal]:
        """Paths judged noise that no live ignore rule covers, each with its evidence.

        The rules are read from the store, so every process sees the ones accepted elsewhere.
        """
        live = IgnoreRules(await self._rule_store.load())
        return [
            Proposal(v)
            for v in await self.verdicts()
            if v.status == "noise" and live.remaining(v.domain, v.operation, (v.path,))
        ]

    async def accept(self, domain: str, operation: str, path: str, *, actor: str) -> IgnoreRule:
        """Accept calibration's proposal for ``path``: add its ignore rule, audited by ``actor``.

        ``ValueError`` if no actor is given or the path is not judged noise now.
        """
        if not actor.strip():
            raise ValueError("accepting a proposal needs an actor")
        wanted = normalise_path(path)
        for proposal in await self.proposals():
            v = proposal.verdict
            if (v.domain, v.operation, v.path) == (domain, operation, wanted):
                rule = await self._rule_store.add(
                    IgnoreRule(domain, operation, wanted, proposal.reason, actor)
                )
                self._rules.replace(await self._rule_store.load())
                structlog.get_logger().info(
                    "shadow.noise_rule_accepted", domain=domain, operation=operation,
                    path=wanted, actor=actor, evidence=v.as_dict(),
                )  # fmt: skip
                return rule
        raise ValueError(
            f"{domain}.{operation} {wanted} is not a proposal: calibration does not judge it"
            " noise now, or a rule already covers it (see `dualpath divergences noise`)"
        )

    def _paths(
        self, stored: Mapping[tuple[str, str], dict[str, tuple[int, int]]]
    ) -> tuple[dict[tuple[str, str], frozenset[str]], dict[tuple[str, str], frozenset[str]]]:
        noise: dict[tuple[str, str], frozenset[str]] = {}
        real: dict[tuple[str, str], frozenset[str]] = {}
        for (domain, operation), paths in stored.items():
            verdicts = [self._verdict(domain, operation, p, paths) for p in paths if p != CALLS]
            likely = {v.path for v in verdicts if v.status == "noise"
                      or (v.status == "inconclusive" and v.aa_diffs > 0)}  # fmt: skip
            if likely:
                noise[(domain, operation)] = frozenset(likely)
            judged_real = {v.path for v in verdicts if v.status == "real"}
            if judged_real:
                real[(domain, operation)] = frozenset(judged_real)
        return noise, real

    def _verdict(
        self, domain: str, operation: str, path: str, paths: dict[str, tuple[int, int]]
    ) -> NoiseVerdict:
        aa_calls, ab_calls = paths.get(CALLS, (0, 0))
        aa, ab = paths.get(path, (0, 0))
        return noise_verdict(domain, operation, path, (ab, ab_calls, aa, aa_calls), self.rule)

    def _decide(self, row: Any, paths: dict[str, tuple[int, int]]) -> tuple[str, str, str, str]:
        domain, operation = row["domain"], row["operation"]
        verdicts = [self._verdict(domain, operation, normalise_path(p), paths)
                    for p in row["diff_paths"]]  # fmt: skip
        noise = bool(verdicts) and all(v.status == "noise" for v in verdicts)
        status = "noise" if noise else "open"
        reason = "; ".join(v.summary() for v in verdicts)
        if not noise and row["status"] == "noise":
            reason = f"no longer noise: {reason}"
        evidence = {
            "status": status,
            "rule": self.rule.describe(),
            "judged_at": datetime.now(UTC).isoformat(),
            "paths": [v.as_dict() for v in verdicts],
        }
        return row["signature"], status, reason, json.dumps(evidence)
