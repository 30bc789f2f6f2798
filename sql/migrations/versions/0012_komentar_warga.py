"""The reporter's comment is its own history kind (laporan_status.jenis = 'komentar')."""

from sql import apply_migration

revision = "0012_komentar_warga"
down_revision = "0011_laksa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0012_komentar_warga")


def downgrade() -> None:
    apply_migration("0012_komentar_warga.down")
