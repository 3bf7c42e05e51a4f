"""Rollout per service: per-minute counts by calling service, and the groups each service hit.

``service_rollup_minute`` holds, per (minute, service, domain, operation), the routed calls,
which path answered them, the errors of the answering path, and the comparisons, divergences,
shadow timeouts and shadow errors of the shadowed ones. ``service_divergences`` records which
services hit which divergence group (by signature), so open groups can be attributed.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE service_rollup_minute (
    minute          timestamptz NOT NULL,
    service         varchar(64) NOT NULL CHECK (length(btrim(service)) > 0),
    domain          varchar(64) NOT NULL,
    operation       varchar(128) NOT NULL,
    calls           bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
    legacy_answered bigint NOT NULL DEFAULT 0 CHECK (legacy_answered >= 0),
    async_answered  bigint NOT NULL DEFAULT 0 CHECK (async_answered >= 0),
    legacy_errors   bigint NOT NULL DEFAULT 0 CHECK (legacy_errors >= 0),
    async_errors    bigint NOT NULL DEFAULT 0 CHECK (async_errors >= 0),
    comparisons     bigint NOT NULL DEFAULT 0 CHECK (comparisons >= 0),
    divergences     bigint NOT NULL DEFAULT 0 CHECK (divergences >= 0),
    timeouts        bigint NOT NULL DEFAULT 0 CHECK (timeouts >= 0),
    shadow_errors   bigint NOT NULL DEFAULT 0 CHECK (shadow_errors >= 0),
    PRIMARY KEY (minute, service, domain, operation)
);
CREATE INDEX service_rollup_minute_service ON service_rollup_minute (service, domain, minute);

CREATE TABLE service_divergences (
    service     varchar(64) NOT NULL CHECK (length(btrim(service)) > 0),
    signature   varchar(64) NOT NULL,
    domain      varchar(64) NOT NULL,
    count       bigint NOT NULL CHECK (count > 0),
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (service, signature)
);
CREATE INDEX service_divergences_signature ON service_divergences (signature);
"""

DOWNGRADE = """
DROP TABLE service_divergences;
DROP TABLE service_rollup_minute;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
