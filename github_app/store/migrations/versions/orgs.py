"""Real organisations: merge queue groups and pull request retargets.

Revision ID: orgs
Revises: console_sessions

``merge_groups``
    Each merge queue group Countersign judged, keyed by its head commit: the target ``base_ref``,
    the PRs it held (``prs``, a JSON list of numbers), the ``conclusion`` published on it and,
    once GitHub dissolved it, ``destroyed_reason`` (``merged``, ``invalidated``, ``dequeued``).
    A push of a group head to its base branch is a merge through pull requests.

``pr_retargets``
    The latest base change of each pull request (``from_base`` to ``to_base`` at
    ``changed_at``): approvals submitted before it count only if the policy says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "orgs"
down_revision = "console_sessions"
branch_labels = None
depends_on = None


def _timestamp(now_default: bool = False) -> dict:
    default = {"server_default": sa.func.current_timestamp()} if now_default else {}
    return {"type_": sa.DateTime(timezone=True), "nullable": False, **default}


def upgrade() -> None:
    op.create_table(
        "merge_groups",
        sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("head_sha", sa.Text(), primary_key=True),
        sa.Column("base_ref", sa.Text(), nullable=False),
        sa.Column("prs", sa.Text(), nullable=False),
        sa.Column("conclusion", sa.String(16), nullable=True),
        sa.Column("destroyed_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", **_timestamp(now_default=True)),
    )
    op.create_table(
        "pr_retargets",
        sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("from_base", sa.Text(), nullable=False),
        sa.Column("to_base", sa.Text(), nullable=False),
        sa.Column("changed_at", **_timestamp()),
    )


def downgrade() -> None:
    op.drop_table("pr_retargets")
    op.drop_table("merge_groups")
