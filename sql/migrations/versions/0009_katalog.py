"""Metadata catalogue: one SNI 8843-1 record per layer version (CSW, OGC API - Records, geoportal)."""

from sql import apply_migration

revision = "0009_katalog"
down_revision = "0008_shared_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0009_katalog")


def downgrade() -> None:
    apply_migration("0009_katalog.down")
