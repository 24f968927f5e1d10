"""SQLAlchemy Core descriptions of the tables created by the migrations.

Write queries against these objects (``sa.select(webhook_deliveries)…``); timestamps go in and
come out as aware UTC datetimes on both backends (see :class:`UTCDateTime`).  The migrations are
the source of truth and document every table and column (``migrations/versions/0001_initial.py``);
a test checks that this module matches them.  ``ledger_entries`` and ``ledger_checkpoints`` are
written only through :mod:`github_app.ledger`, and ``access_log`` is append-only too.
"""

from __future__ import annotations

import sqlalchemy as sa

from github_app.store.types import UTCDateTime

metadata = sa.MetaData()

DELIVERY_STATUSES = ("pending", "processing", "done", "failed", "dead")
TOKEN_ROLES = ("auditor", "admin", "agent")
APPEND_ONLY_TABLES = ("ledger_entries", "ledger_checkpoints", "access_log")


def _bigint() -> sa.types.TypeEngine:
    """BIGINT on PostgreSQL; INTEGER on SQLite so a primary key is the rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now() -> dict:
    """Keyword arguments for a timestamp the database fills with the current time."""
    return {"nullable": False, "server_default": sa.func.current_timestamp()}


webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.Text(), primary_key=True),
    sa.Column("event", sa.Text(), nullable=False),
    sa.Column("action", sa.Text()),
    sa.Column("installation_id", sa.BigInteger()),
    sa.Column("repo_id", sa.BigInteger()),  # migration delivery_keys
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime(), **_now()),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), **_now()),
    sa.Column("locked_until", UTCDateTime()),
    sa.Column("locked_by", sa.Text()),
    sa.Column("last_error", sa.Text()),
    sa.Column("processed_at", UTCDateTime()),
    sa.CheckConstraint(
        sa.column("status").in_(DELIVERY_STATUSES), name="ck_webhook_deliveries_status"
    ),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_received_at", "received_at"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("seq", _bigint(), primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("session_id", sa.Text()),
    sa.Column("session_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("agent", sa.Text()),
    sa.Column("launched_by", sa.Text()),
    sa.Column("repo", sa.Text()),
    sa.Column("repo_id", sa.BigInteger()),
    sa.Column("pr", sa.Integer()),
    sa.Column("head_sha", sa.Text()),
    sa.Column("actor", sa.Text()),
    sa.Column("delivery_id", sa.Text()),
    sa.Column("payload_sha256", sa.String(64)),
    sa.Column("policy_sha", sa.Text()),
    sa.Column("data", sa.Text(), nullable=False, server_default="{}"),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("idempotency_key", sa.Text()),  # migration ledger_idempotency; not hashed
    sa.Index("ix_ledger_entries_session", "session_id", "seq"),
    sa.Index("ux_ledger_entries_idempotency_key", "idempotency_key", unique=True),
    sa.Index("ix_ledger_entries_repo_time", "repo", "occurred_at"),
    sa.Index("ix_ledger_entries_kind_time", "kind", "occurred_at"),
    sa.Index("ix_ledger_entries_occurred_at", "occurred_at"),
)

ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("size", _bigint(), primary_key=True, autoincrement=False),
    sa.Column("root_hash", sa.String(64), nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("frontier", sa.Text(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), **_now()),
    sa.Column("created_by", sa.Text()),
    sa.Column("last_used_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("login", sa.Text()),  # agent tokens: the developer's GitHub login
    sa.CheckConstraint(sa.column("role").in_(TOKEN_ROLES), name="ck_api_tokens_role"),
    sa.Index(
        "ux_api_tokens_active_name",
        "name",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)

access_log = sa.Table(
    "access_log",
    metadata,
    sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
    sa.Column("token_id", sa.BigInteger()),
    sa.Column("token_name", sa.Text()),
    sa.Column("role", sa.String(16)),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("query", sa.Text()),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("at", UTCDateTime(), **_now()),
    sa.Column("remote_addr", sa.Text()),
    sa.Index("ix_access_log_at", "at"),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("session_sha256", sa.String(64), primary_key=True),
    sa.Column("token_id", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UTCDateTime(), **_now()),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime()),
    sa.Index("ix_console_sessions_expires_at", "expires_at"),
)

freezes = sa.Table(
    "freezes",
    metadata,
    sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
    sa.Column("installation_id", sa.BigInteger()),
    sa.Column("repo", sa.Text()),  # null: org-wide
    sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), **_now()),
    sa.Column("lifted_at", UTCDateTime()),
    sa.Column("lifted_by", sa.Text()),
    sa.Index("ix_freezes_scope", "installation_id", "repo"),
    # One active freeze per scope (migration ``freeze_scope_unique``).
    sa.Index(
        "ux_freezes_active_scope",
        sa.text("coalesce(lower(repo), '')"),
        unique=True,
        sqlite_where=sa.text("lifted_at IS NULL"),
        postgresql_where=sa.text("lifted_at IS NULL"),
    ),
)

revoked_sessions = sa.Table(
    "revoked_sessions",
    metadata,
    sa.Column("session_id", sa.Text(), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), **_now()),
)

pr_decisions = sa.Table(
    "pr_decisions",
    metadata,
    sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("head_sha", sa.Text(), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("check_run_id", sa.BigInteger()),
    sa.Column("updated_at", UTCDateTime(), **_now()),
    # migration ledger_idempotency
    sa.Column("source_updated_at", UTCDateTime()),
    sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("check_body", sa.Text()),
    sa.Index("ix_pr_decisions_head", "repo_id", "head_sha"),
)

# The one ``countersign`` check run of each head commit (migration ledger_idempotency).
check_runs = sa.Table(
    "check_runs",
    metadata,
    sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("head_sha", sa.Text(), primary_key=True),
    sa.Column("check_run_id", sa.BigInteger()),  # NULL while a create is in flight
    sa.Column("conclusion", sa.String(32)),
    sa.Column("pr", sa.Integer()),
    sa.Column("updated_at", UTCDateTime(), **_now()),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), **_now()),
)

# migration orgs: merge queue groups Countersign judged (state/merge_groups.py)
merge_groups = sa.Table(
    "merge_groups",
    metadata,
    sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("head_sha", sa.Text(), primary_key=True),
    sa.Column("base_ref", sa.Text(), nullable=False),
    sa.Column("prs", sa.Text(), nullable=False),
    sa.Column("conclusion", sa.String(16)),
    sa.Column("destroyed_reason", sa.Text()),
    sa.Column("updated_at", UTCDateTime(), **_now()),
)

# migration orgs: the latest base change of each pull request (state/retargets.py)
pr_retargets = sa.Table(
    "pr_retargets",
    metadata,
    sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("from_base", sa.Text(), nullable=False),
    sa.Column("to_base", sa.Text(), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
)

pr_pushers = sa.Table(  # migration pr_pushers
    "pr_pushers",
    metadata,
    sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("pushed_sha", sa.String(64), primary_key=True),
    sa.Column("login", sa.Text(), primary_key=True),
    sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), **_now()),
    sa.Index("ix_pr_pushers_pr", "repo_id", "pr"),
)

agent_operation_buffer = sa.Table(
    "agent_operation_buffer",
    metadata,
    sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.Text(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("agent", sa.Text(), nullable=False),
    sa.Column("launched_by", sa.Text(), nullable=False),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("repo", sa.Text()),
    sa.Column("operation", sa.Text(), nullable=False),
    sa.Index("ix_agent_operation_buffer_session", "session_id", "id"),
)
