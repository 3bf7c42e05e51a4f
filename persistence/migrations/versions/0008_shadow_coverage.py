"""Shadow coverage: per minute, the calls served in shadow or live, skips by reason, health.

``served`` counts every call served in ``shadow`` or ``live``; ``skipped`` maps each reason
a call was not compared to its count, ``shadow_health`` each kind of the shadow path's own
failures (``timeout``, ``infrastructure``). ``dualpath_counts_add`` adds two such maps.
A shadow timeout is the shadow path's health, no longer a divergence: the minutes counted
before this revision have their timeouts taken out of ``divergences``.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE shadow_rollup_minute
    ADD COLUMN served bigint NOT NULL DEFAULT 0 CHECK (served >= 0),
    ADD COLUMN skipped jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN shadow_health jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE shadow_rollup_minute SET divergences = greatest(divergences - timeouts, 0)
    WHERE timeouts > 0;

CREATE FUNCTION dualpath_counts_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(
        jsonb_object_agg(k, coalesce((a ->> k)::bigint, 0) + coalesce((b ->> k)::bigint, 0)),
        '{}'::jsonb)
    FROM jsonb_object_keys(a || b) AS k
$$;
"""

DOWNGRADE = """
UPDATE shadow_rollup_minute SET divergences = divergences + timeouts WHERE timeouts > 0;
DROP FUNCTION dualpath_counts_add(jsonb, jsonb);
ALTER TABLE shadow_rollup_minute
    DROP COLUMN shadow_health, DROP COLUMN skipped, DROP COLUMN served;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
