"""Guarded rollout: local flag overrides that cap a domain's mode in every process.

The guard writes a row here when it rolls a domain back; every process follows the table by
LISTEN/NOTIFY on ``dualpath_flag_overrides`` and routes no call of the domain above ``mode``
until the next explicit change of that domain's flag clears the row.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE flag_overrides (
    domain      varchar(64) PRIMARY KEY CHECK (length(btrim(domain)) > 0),
    mode        varchar(16) NOT NULL CHECK (mode IN ('legacy', 'shadow', 'live', 'async')),
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0),
    actor       text NOT NULL CHECK (length(btrim(actor)) > 0),
    extra       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(extra) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE flag_overrides;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
