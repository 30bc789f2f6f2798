"""Missed pickups computed once per window end for every process (fleet_terlewat)."""

from sql import apply_migration

revision = "0013_fleet_terlewat"
down_revision = "0012_komentar_warga"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0013_fleet_terlewat")


def downgrade() -> None:
    apply_migration("0013_fleet_terlewat.down")
