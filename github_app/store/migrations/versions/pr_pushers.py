"""Pushers: who pushed which commit, so a pusher cannot countersign what they pushed.

Revision ID: pr_pushers
Revises: console_sessions

``pr_pushers`` has one row per (repository, pushed commit, login, pull request): the ``sender``
of a ``pull_request`` ``synchronize`` (or ``opened``/``reopened``) with ``pr`` set to the PR's
number, and the ``sender`` of every ``push`` to a branch with ``pr`` 0 (the push may come before
the PR exists).  ``pushed_sha`` is the head the push left (and, for ``push``, each commit it
carried); ``event`` says which delivery told us, ``recorded_at`` when.  A PR's pushers are its
own rows plus the rows of any commit it contains; they are excluded from counting approvals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pr_pushers"
down_revision = "orgs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pr_pushers",
        sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("pushed_sha", sa.String(64), primary_key=True),
        sa.Column("login", sa.Text(), primary_key=True),
        sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
    )
    op.create_index("ix_pr_pushers_pr", "pr_pushers", ["repo_id", "pr"])


def downgrade() -> None:
    op.drop_index("ix_pr_pushers_pr", table_name="pr_pushers")
    op.drop_table("pr_pushers")
