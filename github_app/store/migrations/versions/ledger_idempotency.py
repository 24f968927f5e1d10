"""Exactly once, in order: idempotent ledger appends, one check run per commit, ordered state.

Revision ID: ledger_idempotency
Revises: console_sessions

* ``ledger_entries.idempotency_key`` (unique; ``NULL`` for entries appended without one, which
  both backends allow any number of).  It names the *effect* an entry records — one
  ``agent_change_detected`` per (PR, head), one ``approval_invalidated`` per (PR, old head), one
  ``decision`` per change of state, else (delivery, kind, subject) — so a retried or concurrent
  append of the same effect returns the stored entry instead of writing a second.  The key is
  storage metadata and not part of the hashed canonical encoding.
* ``check_runs``: the one ``countersign`` check run of each (repository, head commit), and the
  conclusion last published on it.  ``check_run_id`` is ``NULL`` while a create is in flight
  (a crash there makes the next publish look the run up on GitHub before creating one).
* ``pr_decisions`` learns what the verdict of a commit and the ordering of deliveries need:
  ``source_updated_at`` (GitHub's ``pull_request.updated_at`` of the newest facts applied),
  ``is_open``, ``version`` (bumped with each ``decision`` entry) and ``check_body`` (the check
  run this PR alone would show, JSON, so the strictest PR on a commit can be published).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from github_app.store.types import UTCDateTime

revision = "ledger_idempotency"
down_revision = "pr_pushers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (SQLite needs no table rebuild, so the append-only
    # triggers stay as they are).
    op.add_column("ledger_entries", sa.Column("idempotency_key", sa.Text(), nullable=True))
    op.create_index(
        "ux_ledger_entries_idempotency_key", "ledger_entries", ["idempotency_key"], unique=True
    )
    op.create_table(
        "check_runs",
        sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("head_sha", sa.Text(), primary_key=True),
        sa.Column("check_run_id", sa.BigInteger()),
        sa.Column("conclusion", sa.String(32)),
        sa.Column("pr", sa.Integer()),
        sa.Column(
            "updated_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()
        ),
    )
    op.add_column("pr_decisions", sa.Column("source_updated_at", UTCDateTime()))
    op.add_column(
        "pr_decisions",
        sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "pr_decisions", sa.Column("version", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("pr_decisions", sa.Column("check_body", sa.Text()))
    op.create_index("ix_pr_decisions_head", "pr_decisions", ["repo_id", "head_sha"])


def downgrade() -> None:
    op.drop_index("ix_pr_decisions_head", table_name="pr_decisions")
    with op.batch_alter_table("pr_decisions") as batch:
        for column in ("check_body", "version", "is_open", "source_updated_at"):
            batch.drop_column(column)
    op.drop_table("check_runs")
    op.drop_index("ux_ledger_entries_idempotency_key", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("idempotency_key")
