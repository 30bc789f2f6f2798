"""Officer keys: acting for every OPD is an explicit choice (api_key.semua_opd); unbound keys act on none."""

from sql import apply_migration

revision = "0007_officer_scope"
down_revision = "0006_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0007_officer_scope")


def downgrade() -> None:
    apply_migration("0007_officer_scope.down")
