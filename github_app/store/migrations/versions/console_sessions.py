"""Console sessions: an auditor's or admin's browser sign-in, stored only as digests.

``console_sessions``
    One row per sign-in to the auditor console (``/console/``).  ``session_sha256`` is the
    SHA-256 of the random cookie value (the cookie itself is never stored; the forms'
    anti-forgery token is derived from the cookie value, so it is not stored either).
    ``token_id`` names the API token that was exchanged for the session (its role is
    re-checked on every request, so revoking the token ends the session).  ``expires_at`` is
    fixed at sign-in; ``ended_at`` is set by sign-out.  Expired and ended rows are deleted by
    later sign-ins.

Revision ID: console_sessions
Revises: agent_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "console_sessions"
down_revision = "agent_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``console_sessions``."""
    op.create_table(
        "console_sessions",
        sa.Column("session_sha256", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    """Drop ``console_sessions``."""
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_table("console_sessions")
