"""Readiness in ``dualpath status``: the verdict per domain and the evidence behind it.

The evidence table has one row per rule of each domain that is not in ``legacy``: its
outcome, n, estimate, interval and threshold, and what it still needs. The divergence-rate
rules of operations that passed are folded into one row per domain, so the operations still
lacking evidence stand out; ``--json`` has every one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.readiness_rules import DIVERGENCE_RULE, cells, percent_text
from app.verdicts import Outcome, Verdict

if TYPE_CHECKING:
    from app.readiness import Readiness

__all__ = ["EVIDENCE_COLUMNS", "evidence_rows", "verdict_text"]

EVIDENCE_COLUMNS = ("domain", "rule", "outcome", "n", "estimate", "CI", "threshold", "needs")


def verdict_text(found: Readiness) -> str:
    """The readiness verdict, with the override that holds the domain, if any."""
    held = f" (held at {found.mode} by {found.overridden_by})" if found.overridden_by else ""
    return f"{found.verdict}{held}"


def evidence_rows(found: Sequence[Readiness]) -> list[list[str]]:
    """Rows of the evidence table for every domain's readiness."""
    rows: list[list[str]] = []
    for readiness in found:
        rows.extend(_domain_rows(readiness))
    return rows


def _domain_rows(readiness: Readiness) -> list[list[str]]:
    shown, passed = [], []
    for verdict in readiness.evidence:
        if verdict.rule == DIVERGENCE_RULE and verdict.outcome is Outcome.PASS:
            passed.append(verdict)
        else:
            shown.append(_row(readiness.domain, verdict))
    if passed:
        shown.append(_passed_row(readiness, passed))
    return shown


def _row(domain: str, verdict: Verdict) -> list[str]:
    text = cells(verdict)
    return [
        domain,
        text["rule"],
        text["outcome"],
        text["n"],
        text["estimate"],
        text["ci"],
        text["threshold"],
        text["needed"],
    ]


def _passed_row(readiness: Readiness, passed: Sequence[Verdict]) -> list[str]:
    """The operations whose divergence rate is bounded below the target, as one row."""
    fewest = min(sum(v.n.values()) for v in passed)
    highest = max(v.ci[1] for v in passed if v.ci is not None)
    plural = "s" if len(passed) != 1 else ""
    text = cells(passed[0])
    return [
        readiness.domain,
        f"{DIVERGENCE_RULE} [{len(passed)} operation{plural}]",
        Outcome.PASS.value,
        f">= {fewest:,} comparisons each",
        "-",
        f"upper bounds <= {percent_text(highest)}",
        text["threshold"],
        "",
    ]
