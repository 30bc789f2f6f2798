"""Geocoding support tables (aliases)."""

from sql import apply_migration

revision = "0004_geocoding"
down_revision = "0003_fleet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0004_geocoding")


def downgrade() -> None:
    apply_migration("0004_geocoding.down")
