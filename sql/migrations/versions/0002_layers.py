"""Published OPD layers: registry, versions, schema published."""

from sql import apply_migration

revision = "0002_layers"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0002_layers")


def downgrade() -> None:
    apply_migration("0002_layers.down")
