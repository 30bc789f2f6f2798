"""${message}"""

from sql import apply_migration

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_migration("${up_revision}")


def downgrade() -> None:
    apply_migration("${up_revision}.down")
