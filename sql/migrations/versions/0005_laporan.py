"""Complaints (laporan), OPD catalogue and routing rules."""

from sql import apply_migration

revision = "0005_laporan"
down_revision = "0004_geocoding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0005_laporan")


def downgrade() -> None:
    apply_migration("0005_laporan.down")
