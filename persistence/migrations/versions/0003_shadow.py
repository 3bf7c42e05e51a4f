"""Shadow comparison: ignore rules, divergence groups and exemplars, per-minute rollups.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE shadow_ignore_rules (
    id          bigserial PRIMARY KEY,
    domain      varchar(64) NOT NULL CHECK (length(btrim(domain)) > 0),
    operation   varchar(100) NOT NULL CHECK (length(btrim(operation)) > 0),
    path        text NOT NULL CHECK (length(btrim(path)) > 0),
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0),
    owner       text NOT NULL CHECK (length(btrim(owner)) > 0),
    expires_at  timestamptz,
    signature   varchar(64),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shadow_ignore_rules_signature_idx ON shadow_ignore_rules (signature)
    WHERE signature IS NOT NULL;

CREATE TABLE divergence_groups (
    signature      varchar(64) PRIMARY KEY,
    domain         varchar(64) NOT NULL,
    operation      varchar(100) NOT NULL,
    kind           varchar(32) NOT NULL
                   CHECK (kind IN ('result_mismatch', 'error_mismatch', 'effect_mismatch',
                                   'event_mismatch', 'shadow_error', 'shadow_timeout')),
    diff_paths     text[] NOT NULL DEFAULT '{}',
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    status         varchar(16) NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'ignored', 'fixed')),
    status_reason  text NOT NULL DEFAULT '',
    status_by      text,
    status_at      timestamptz
);
CREATE INDEX divergence_groups_listing_idx ON divergence_groups (domain, status, last_seen DESC);

CREATE TABLE divergence_exemplars (
    id                   bigserial PRIMARY KEY,
    signature            varchar(64) NOT NULL
                         REFERENCES divergence_groups(signature) ON DELETE CASCADE,
    inputs               jsonb NOT NULL DEFAULT '{}'::jsonb,
    primary_path         varchar(16) NOT NULL,
    primary_result       jsonb,
    shadow_result        jsonb,
    diff                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    service              text NOT NULL DEFAULT '',
    mode                 varchar(16) NOT NULL,
    primary_duration_ms  double precision,
    shadow_duration_ms   double precision,
    code_version         text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX divergence_exemplars_signature_idx ON divergence_exemplars (signature, id DESC);

CREATE TABLE shadow_rollup_minute (
    minute                 timestamptz NOT NULL,
    domain                 varchar(64) NOT NULL,
    operation              varchar(100) NOT NULL,
    calls                  bigint NOT NULL DEFAULT 0,
    comparisons            bigint NOT NULL DEFAULT 0,
    divergences            bigint NOT NULL DEFAULT 0,
    ignored                bigint NOT NULL DEFAULT 0,
    timeouts               bigint NOT NULL DEFAULT 0,
    legacy_errors          bigint NOT NULL DEFAULT 0,
    async_errors           bigint NOT NULL DEFAULT 0,
    legacy_latency_sum_ms  double precision NOT NULL DEFAULT 0,
    async_latency_sum_ms   double precision NOT NULL DEFAULT 0,
    legacy_latency_hist    bigint[] NOT NULL,
    async_latency_hist     bigint[] NOT NULL,
    PRIMARY KEY (minute, domain, operation)
);
CREATE INDEX shadow_rollup_minute_minute_idx ON shadow_rollup_minute (minute);
"""

DOWNGRADE = """
DROP TABLE shadow_rollup_minute, divergence_exemplars, divergence_groups, shadow_ignore_rules;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
