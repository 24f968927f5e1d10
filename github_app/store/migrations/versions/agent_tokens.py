"""Agent sessions: agent tokens bound to a GitHub login, and the operation buffer.

Revision ID: agent_tokens
Revises: delivery_keys

``api_tokens``
    Gains ``login`` (the GitHub login an ``agent`` token was issued to; null for auditor and
    admin tokens) and the role ``agent``.  An agent token's login is the *attested* launcher of
    the sessions it starts.

``agent_operation_buffer``
    Agent operations (``PostToolUse`` events) accepted by ``POST /api/v1/agent/events`` but not
    yet written to the ledger.  A row is inserted before the hook is answered, so an accepted
    operation survives a crash; rows are moved to the ledger as one ``agent_operation`` entry per
    group (every N operations of a session, after T seconds, at ``SessionEnd`` and at shutdown)
    and deleted in the same transaction as that append, so none is lost or written twice.
    ``operation`` is the JSON summary of one operation (tool, target, result; never contents).
"""

import sqlalchemy as sa
from alembic import op

revision = "agent_tokens"
down_revision = "delivery_keys"
branch_labels = None
depends_on = None

TOKEN_ROLES = ("auditor", "admin", "agent")


def _bigint() -> sa.types.TypeEngine:
    """BIGINT on PostgreSQL; INTEGER on SQLite so a primary key is the rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the token login and the agent role; create the operation buffer."""
    roles = ", ".join(repr(role) for role in TOKEN_ROLES)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("login", sa.Text(), nullable=True))
        batch.drop_constraint("ck_api_tokens_role", type_="check")
        batch.create_check_constraint("ck_api_tokens_role", f"role IN ({roles})")
    op.create_table(
        "agent_operation_buffer",
        sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("launched_by", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("repo", sa.Text(), nullable=True),
        sa.Column("operation", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_agent_operation_buffer_session", "agent_operation_buffer", ["session_id", "id"]
    )


def downgrade() -> None:
    """Refuse: Countersign migrations are forward-only."""
    raise NotImplementedError("Countersign migrations are forward-only; evidence is never dropped")
