"""LAKSA lifecycle: statuses as data, SP4N-LAPOR! stage clock, history with notes and media, disposisi, rating."""

from sql import apply_migration

revision = "0011_laksa"
down_revision = "0010_layer_style"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0011_laksa")


def downgrade() -> None:
    apply_migration("0011_laksa.down")
