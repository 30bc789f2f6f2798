"""Shared state for many processes: the write rate limits' token buckets (UNLOGGED)."""

from sql import apply_migration

revision = "0008_shared_state"
down_revision = "0007_officer_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0008_shared_state")


def downgrade() -> None:
    apply_migration("0008_shared_state.down")
