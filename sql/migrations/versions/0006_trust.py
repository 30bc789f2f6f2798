"""Trust: audit log, tracker keys bound to a device, key rotation."""

from sql import apply_migration

revision = "0006_trust"
down_revision = "0005_laporan"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0006_trust")


def downgrade() -> None:
    apply_migration("0006_trust.down")
