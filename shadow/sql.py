"""The SQL of the divergence store, in one place."""

from __future__ import annotations

from typing import Final

UPSERT_GROUPS: Final = """
INSERT INTO divergence_groups AS g
    (signature, domain, operation, kind, diff_paths, count, first_seen, last_seen)
SELECT b.signature, b.domain, b.operation, b.kind,
       ARRAY(SELECT jsonb_array_elements_text(b.paths::jsonb)), b.n, b.first_seen, b.last_seen
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::timestamptz[], $8::timestamptz[])
     AS b(signature, domain, operation, kind, paths, n, first_seen, last_seen)
ON CONFLICT (signature) DO UPDATE SET
    count = g.count + EXCLUDED.count,
    first_seen = least(g.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(g.last_seen, EXCLUDED.last_seen),
    status = CASE WHEN g.status = 'fixed' THEN 'open' ELSE g.status END,
    status_reason = CASE WHEN g.status = 'fixed' THEN 'diverged again after being fixed'
                         ELSE g.status_reason END,
    status_by = CASE WHEN g.status = 'fixed' THEN 'shadow' ELSE g.status_by END,
    status_at = CASE WHEN g.status = 'fixed' THEN now() ELSE g.status_at END
RETURNING signature, count, status, (xmax = 0) AS inserted,
          (status_by = 'shadow' AND status_at = now()) AS reopened
"""

INSERT_EXEMPLAR: Final = """
INSERT INTO divergence_exemplars
    (signature, inputs, primary_path, primary_result, shadow_result, diff, service, mode,
     primary_duration_ms, shadow_duration_ms, code_version, created_at, captured)
VALUES ($1, $2::jsonb, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12,
        $13::jsonb)
"""

#: Before the upsert reopens a fixed group: the code version it recurred in.
NOTE_RECURRENCE: Final = """
UPDATE divergence_groups g SET recurred_version = v.code_version
FROM unnest($1::text[], $2::text[]) AS v(signature, code_version)
WHERE g.signature = v.signature AND g.status = 'fixed'
"""

PRUNE_EXEMPLARS: Final = """
DELETE FROM divergence_exemplars e
USING (SELECT id, row_number() OVER (PARTITION BY signature ORDER BY id DESC) AS rn
       FROM divergence_exemplars WHERE signature = ANY($1::text[])) AS ranked
WHERE e.id = ranked.id AND ranked.rn > $2
"""


def _hist_sum(column: str) -> str:
    return (
        f"{column} = ARRAY(SELECT a + b FROM unnest(r.{column}, EXCLUDED.{column})"
        " WITH ORDINALITY AS t(a, b, i) ORDER BY i)"
    )


_ADDED = ", ".join(
    f"{c} = r.{c} + EXCLUDED.{c}"
    for c in (
        "calls",
        "comparisons",
        "divergences",
        "ignored",
        "timeouts",
        "legacy_errors",
        "async_errors",
        "legacy_latency_sum_ms",
        "async_latency_sum_ms",
    )
)

UPSERT_ROLLUP: Final = f"""
INSERT INTO shadow_rollup_minute AS r
    (minute, domain, operation, calls, comparisons, divergences, ignored, timeouts,
     legacy_errors, async_errors, legacy_latency_sum_ms, async_latency_sum_ms,
     legacy_latency_hist, async_latency_hist, served, skipped, shadow_health)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb,
        $17::jsonb)
ON CONFLICT (minute, domain, operation) DO UPDATE SET
    {_ADDED},
    {_hist_sum("legacy_latency_hist")},
    {_hist_sum("async_latency_hist")},
    served = r.served + EXCLUDED.served,
    skipped = dualpath_counts_add(r.skipped, EXCLUDED.skipped),
    shadow_health = dualpath_counts_add(r.shadow_health, EXCLUDED.shadow_health)
"""

SELECT_GROUPS: Final = """
SELECT * FROM divergence_groups
WHERE ($1::text IS NULL OR domain = $1) AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR kind = $3)
ORDER BY last_seen DESC, signature
LIMIT $4
"""

SELECT_ROLLUP: Final = """
SELECT * FROM shadow_rollup_minute
WHERE minute >= $1 AND ($2::text IS NULL OR domain = $2) AND ($3::text IS NULL OR operation = $3)
ORDER BY minute, domain, operation
"""

SELECT_OPERATION_TOTALS: Final = """
SELECT r.domain, r.operation, sum(r.calls) AS calls, sum(r.comparisons) AS comparisons,
       sum(r.divergences) AS divergences, sum(r.ignored) AS ignored,
       sum(r.timeouts) AS timeouts, sum(r.legacy_errors) AS legacy_errors,
       sum(r.async_errors) AS async_errors, min(r.minute) AS first_minute,
       max(r.minute) AS last_minute, sum(r.served) AS served,
       jsonb_agg(r.skipped) AS skipped, jsonb_agg(r.shadow_health) AS shadow_health
FROM shadow_rollup_minute r
JOIN unnest($1::text[], $2::timestamptz[]) AS s(domain, start)
  ON r.domain = s.domain AND r.minute >= s.start
GROUP BY r.domain, r.operation
ORDER BY r.domain, r.operation
"""
