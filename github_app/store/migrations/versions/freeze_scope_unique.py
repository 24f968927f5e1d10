"""One active freeze per scope, enforced by the database.

Revision ID: freeze_scope_unique
Revises: ledger_idempotency

Starting a freeze was a read ("is this scope frozen?") then an insert, so two replicas (or the
API and the CLI) freezing the same scope at once could both insert.  A partial unique index on
the scope of *active* freezes (org-wide is the empty name; GitHub names ignore case) makes the
second insert a no-op.  Duplicates an older version may have left are lifted first, keeping the
oldest freeze of each scope in force.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "freeze_scope_unique"
down_revision = "ledger_idempotency"
branch_labels = None
depends_on = None

SCOPE = "coalesce(lower(repo), '')"
ACTIVE = "lifted_at IS NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            f"UPDATE freezes SET lifted_at = CURRENT_TIMESTAMP, lifted_by = 'migration:duplicate' "
            f"WHERE {ACTIVE} AND id NOT IN (SELECT min(id) FROM freezes WHERE {ACTIVE} "
            f"GROUP BY {SCOPE})"
        )
    )
    op.create_index(
        "ux_freezes_active_scope",
        "freezes",
        [sa.text(SCOPE)],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ux_freezes_active_scope", table_name="freezes")
