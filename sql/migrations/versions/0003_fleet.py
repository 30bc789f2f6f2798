"""Si Lacak fleet: vehicles, devices, positions, sites, visits."""

from sql import apply_migration

revision = "0003_fleet"
down_revision = "0002_layers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0003_fleet")


def downgrade() -> None:
    apply_migration("0003_fleet.down")
