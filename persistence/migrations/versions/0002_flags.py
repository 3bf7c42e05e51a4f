"""Feature flags: one row per domain, and an append-only audit log of every change.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE flags (
    domain      varchar(64) PRIMARY KEY CHECK (length(btrim(domain)) > 0),
    mode        varchar(16) NOT NULL DEFAULT 'legacy'
                CHECK (mode IN ('legacy', 'shadow', 'live', 'async')),
    percent     smallint NOT NULL DEFAULT 100 CHECK (percent BETWEEN 0 AND 100),
    services    text[] CHECK (services IS NULL OR cardinality(services) > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL CHECK (length(btrim(updated_by)) > 0),
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0)
);

CREATE TABLE flag_audit (
    id             bigserial PRIMARY KEY,
    domain         varchar(64) NOT NULL,
    previous_mode  varchar(16)
                   CHECK (previous_mode IN ('legacy', 'shadow', 'live', 'async')),
    mode           varchar(16) NOT NULL CHECK (mode IN ('legacy', 'shadow', 'live', 'async')),
    percent        smallint NOT NULL CHECK (percent BETWEEN 0 AND 100),
    services       text[],
    reason         text NOT NULL CHECK (length(btrim(reason)) > 0),
    actor          text NOT NULL CHECK (length(btrim(actor)) > 0),
    forced         boolean NOT NULL DEFAULT false,
    extra          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(extra) = 'object'),
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flag_audit_domain_idx ON flag_audit (domain, id DESC);
"""

DOWNGRADE = """
DROP TABLE flag_audit, flags;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
