"""Styles (SLD 1.0 / SE 1.1) uploaded per published layer version, drawn by the WMS at /ows."""

from sql import apply_migration

revision = "0010_layer_style"
down_revision = "0009_katalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0010_layer_style")


def downgrade() -> None:
    apply_migration("0010_layer_style.down")
