"""Noise calibration and reproductions: A/A and A/B counts per field path, the ``noise`` status.

``shadow_calibration`` holds, per (domain, operation, path), how many comparisons the A/A
calibration runs made (the primary's path against itself) and the A/B comparisons made
(primary against the other path), and how many of each differed at that path; the row with
the empty path holds the comparisons themselves. ``divergence_groups`` gains the ``noise``
status with its evidence, whether ops overruled it, and the code version a group was fixed in
and recurred in. ``divergence_exemplars`` gains the rows a reproduction inserts.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE shadow_calibration (
    domain      varchar(64) NOT NULL,
    operation   varchar(128) NOT NULL,
    path        text NOT NULL,
    aa          bigint NOT NULL DEFAULT 0 CHECK (aa >= 0),
    ab          bigint NOT NULL DEFAULT 0 CHECK (ab >= 0),
    PRIMARY KEY (domain, operation, path)
);

ALTER TABLE divergence_groups DROP CONSTRAINT divergence_groups_status_check;
ALTER TABLE divergence_groups ADD CONSTRAINT divergence_groups_status_check
    CHECK (status IN ('open', 'ignored', 'fixed', 'noise'));
ALTER TABLE divergence_groups
    ADD COLUMN noise_evidence jsonb,
    ADD COLUMN noise_overruled boolean NOT NULL DEFAULT false,
    ADD COLUMN fixed_version text,
    ADD COLUMN recurred_version text;

ALTER TABLE divergence_exemplars ADD COLUMN captured jsonb;
"""

DOWNGRADE = """
ALTER TABLE divergence_exemplars DROP COLUMN captured;
UPDATE divergence_groups SET status = 'open' WHERE status = 'noise';
ALTER TABLE divergence_groups
    DROP COLUMN noise_evidence,
    DROP COLUMN noise_overruled,
    DROP COLUMN fixed_version,
    DROP COLUMN recurred_version;
ALTER TABLE divergence_groups DROP CONSTRAINT divergence_groups_status_check;
ALTER TABLE divergence_groups ADD CONSTRAINT divergence_groups_status_check
    CHECK (status IN ('open', 'ignored', 'fixed'));
DROP TABLE shadow_calibration;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
