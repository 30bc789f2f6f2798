"""Foundation: extensions, bundled administrative layers, gazetteer, crosswalk, POIs, data_layer."""

from sql import apply_migration

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("0001_foundation")


def downgrade() -> None:
    apply_migration("0001_foundation.down")
