"""The guard's record: the calls it judged and the looks it took, for replay.

Self-contained (no foreign key to any other table), so it can move with dualpath's own tables.
``guard_calls`` holds the calls of one (domain, mode) handed over at one look, as parallel
arrays; ``guard_looks`` holds every look with its outcome. ``source`` names the process
(host:pid:start), since each process judges its own calls. The guard deletes rows older than
its retention (25 h by default).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE guard_calls (
    id            bigserial PRIMARY KEY,
    source        text NOT NULL CHECK (length(btrim(source)) > 0),
    domain        varchar(64) NOT NULL CHECK (length(btrim(domain)) > 0),
    mode          varchar(16) NOT NULL CHECK (mode IN ('shadow', 'live', 'async')),
    first_at      double precision NOT NULL,
    last_at       double precision NOT NULL CHECK (last_at >= first_at),
    at            double precision[] NOT NULL,
    legacy_s      double precision[] NOT NULL,
    async_s       double precision[] NOT NULL,
    bits          smallint[] NOT NULL,
    CHECK (cardinality(at) = cardinality(legacy_s) AND cardinality(at) = cardinality(async_s)
           AND cardinality(at) = cardinality(bits) AND cardinality(at) > 0)
);
CREATE INDEX guard_calls_domain_idx ON guard_calls (domain, last_at);

CREATE TABLE guard_looks (
    id            bigserial PRIMARY KEY,
    source        text NOT NULL CHECK (length(btrim(source)) > 0),
    domain        varchar(64) NOT NULL CHECK (length(btrim(domain)) > 0),
    mode          varchar(16) NOT NULL CHECK (mode IN ('shadow', 'live', 'async')),
    at            double precision NOT NULL,
    outcome       varchar(16) NOT NULL
                  CHECK (outcome IN ('pass', 'inconclusive', 'fail', 'rollback', 'dry_run')),
    streak        integer NOT NULL CHECK (streak >= 0),
    decided_by    jsonb
);
CREATE INDEX guard_looks_domain_idx ON guard_looks (domain, at);
"""

DOWNGRADE = """
DROP TABLE guard_looks, guard_calls;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
