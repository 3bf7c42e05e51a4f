"""The guard's record keeps each call's event-loop lag, so replay sets aside what the guard did.

``guard_calls.loop_lag_s`` runs parallel to ``at``: how late the measuring process's event
loop ran as each call ended (``app.loop_lag``). The latency and tail rules judge only pairs
timed on a quiet loop; with the lag recorded, ``dualpath guard replay`` decides as the live
guard did. Rows recorded before this revision have none and replay as a quiet loop.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE guard_calls ADD COLUMN loop_lag_s double precision[];
ALTER TABLE guard_calls ADD CONSTRAINT guard_calls_loop_lag_matches
    CHECK (loop_lag_s IS NULL OR cardinality(loop_lag_s) = cardinality(at));
"""

DOWNGRADE = """
ALTER TABLE guard_calls DROP CONSTRAINT guard_calls_loop_lag_matches;
ALTER TABLE guard_calls DROP COLUMN loop_lag_s;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
