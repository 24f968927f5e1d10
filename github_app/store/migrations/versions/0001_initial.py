"""Initial schema: every table the App needs, and the append-only guards.

Revision ID: 0001
Revises: (none)

Tables (all timestamps are timezone-aware and stored in UTC):

``webhook_deliveries``
    The inbox.  A delivery is stored here, exactly as received, *before* ``POST /webhooks``
    answers 202; workers then claim and process it.  ``delivery_id`` is GitHub's
    ``X-GitHub-Delivery`` (the primary key makes redeliveries idempotent); ``event`` /
    ``action`` / ``installation_id`` are copied out of the headers and body for routing;
    ``payload`` holds the raw body bytes and ``payload_sha256`` their hex digest (the ledger
    cites it).  ``status`` is ``pending`` → ``processing`` → ``done``, or ``failed`` (will be
    retried at ``next_attempt_at``) and finally ``dead`` after too many ``attempts``.  A worker
    claims a row by setting ``locked_until`` (a lease, so a crashed worker's row comes back) and
    ``locked_by``; ``last_error`` keeps the latest failure, ``processed_at`` the completion time.

``ledger_entries``
    The evidence ledger.  ``seq`` is the one global sequence
    (1, 2, 3… with no gaps), ``id`` a UUID, ``kind`` one of the documented kinds,
    ``occurred_at`` GitHub's time and ``recorded_at`` ours.  Attribution columns:
    ``session_id`` (+ ``session_derived``), ``agent``, ``launched_by``, ``repo`` (full name) and
    ``repo_id``, ``pr``, ``head_sha``, ``actor``; provenance: ``delivery_id``,
    ``payload_sha256``, ``policy_sha``.  ``data`` is the kind-specific object as canonical JSON
    text (on PostgreSQL cast it with ``data::jsonb`` to query inside, on SQLite use
    ``json_extract``).  ``hash`` = SHA-256 of the canonical encoding of every other column,
    ``prev_hash`` the previous entry's ``hash`` (64 zeros for the first).  UPDATE and DELETE
    (and TRUNCATE on PostgreSQL) are refused by triggers.

``ledger_checkpoints``
    Signed checkpoints of the ledger: ``size`` entries, their RFC 9162 Merkle ``root_hash``, the
    chain's ``head_hash`` (the hash of entry ``size``), ``created_at``, and the Ed25519
    ``signature`` by the key ``key_id`` (``public_key`` is its raw 32 bytes in hex).
    ``frontier`` caches the Merkle tree's right edge so the next checkpoint only hashes the new
    entries; it is not signed and ``verify`` recomputes it.  Append-only like the ledger.

``api_tokens``
    Bearer tokens of the auditor and admin API, stored only as ``token_sha256``.  ``role`` is
    ``auditor`` or ``admin``; a token is revoked by setting ``revoked_at``.  ``name`` is unique
    among tokens that are not revoked.

``access_log``
    One row per API request (CC6.1 evidence of who read what): the token (``token_id``,
    ``token_name``, ``role``; null when authentication failed), ``method``, ``path``,
    ``query``, response ``status``, time ``at`` and ``remote_addr``.  Append-only.

``freezes``
    Containment freezes.  ``repo`` null means org-wide for ``installation_id``; a freeze is
    active until ``lifted_at`` is set (by ``lifted_by``).

``revoked_sessions``
    Agent sessions an admin revoked: their PRs block and their future commits are flagged.

``pr_decisions``
    The last decision per pull request (``state`` on ``head_sha`` and the ``check_run_id`` that
    shows it), so a ``decision`` ledger entry is written only when the state changes.

``sync_cursors``
    Named cursors (``value`` is opaque text) for periodic jobs such as pulling rule suites.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_checkpoints", "access_log")
DELIVERY_STATUSES = ("pending", "processing", "done", "failed", "dead")
TOKEN_ROLES = ("auditor", "admin")


def _bigint() -> sa.types.TypeEngine:
    """BIGINT on PostgreSQL; INTEGER on SQLite so a primary key is the rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(nullable: bool = False, now_default: bool = False) -> dict:
    """Keyword arguments for a UTC timestamp column."""
    default = {"server_default": sa.func.current_timestamp()} if now_default else {}
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable, **default}


def _in(column: str, values: tuple[str, ...]) -> str:
    """SQL for ``column IN ('a', 'b')`` over trusted constants."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    """Create every table, index and append-only trigger."""
    _create_webhook_deliveries()
    _create_ledger_tables()
    _create_api_tables()
    _create_containment_tables()
    _create_job_tables()
    if op.get_bind().dialect.name == "postgresql":
        _guard_postgresql()
    else:
        _guard_sqlite()


def downgrade() -> None:
    """Refuse: dropping these tables would destroy audit evidence."""
    raise NotImplementedError("Countersign migrations are forward-only; evidence is never dropped")


def _create_webhook_deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.Text(), primary_key=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", **_timestamp(now_default=True)),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", **_timestamp(now_default=True)),
        sa.Column("locked_until", **_timestamp(nullable=True)),
        sa.Column("locked_by", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", **_timestamp(nullable=True)),
        sa.CheckConstraint(_in("status", DELIVERY_STATUSES), name="ck_webhook_deliveries_status"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"])


def _create_ledger_tables() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("seq", _bigint(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("occurred_at", **_timestamp()),
        sa.Column("recorded_at", **_timestamp()),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("session_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("launched_by", sa.Text(), nullable=True),
        sa.Column("repo", sa.Text(), nullable=True),
        sa.Column("repo_id", sa.BigInteger(), nullable=True),
        sa.Column("pr", sa.Integer(), nullable=True),
        sa.Column("head_sha", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("delivery_id", sa.Text(), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("policy_sha", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_ledger_entries_session", "ledger_entries", ["session_id", "seq"])
    op.create_index("ix_ledger_entries_repo_time", "ledger_entries", ["repo", "occurred_at"])
    op.create_index("ix_ledger_entries_kind_time", "ledger_entries", ["kind", "occurred_at"])
    op.create_index("ix_ledger_entries_occurred_at", "ledger_entries", ["occurred_at"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", _bigint(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", **_timestamp()),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
    )


def _create_api_tables() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", **_timestamp(now_default=True)),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("last_used_at", **_timestamp(nullable=True)),
        sa.Column("revoked_at", **_timestamp(nullable=True)),
        sa.CheckConstraint(_in("role", TOKEN_ROLES), name="ck_api_tokens_role"),
    )
    op.create_index(
        "ux_api_tokens_active_name",
        "api_tokens",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "access_log",
        sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column("token_name", sa.Text(), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("at", **_timestamp(now_default=True)),
        sa.Column("remote_addr", sa.Text(), nullable=True),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])


def _create_containment_tables() -> None:
    op.create_table(
        "freezes",
        sa.Column("id", _bigint(), primary_key=True, autoincrement=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("repo", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created_at", **_timestamp(now_default=True)),
        sa.Column("lifted_at", **_timestamp(nullable=True)),
        sa.Column("lifted_by", sa.Text(), nullable=True),
    )
    op.create_index("ix_freezes_scope", "freezes", ["installation_id", "repo"])
    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", sa.Text(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("revoked_at", **_timestamp(now_default=True)),
    )


def _create_job_tables() -> None:
    op.create_table(
        "pr_decisions",
        sa.Column("repo_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("pr", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("head_sha", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", **_timestamp(now_default=True)),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", **_timestamp(now_default=True)),
    )


def _guard_sqlite() -> None:
    """BEFORE UPDATE / DELETE triggers that abort the statement (SQLite has no TRUNCATE)."""
    for table in APPEND_ONLY_TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_refuse_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def _guard_postgresql() -> None:
    """Row triggers on UPDATE / DELETE and a statement trigger on TRUNCATE, all raising."""
    op.execute(
        """
        CREATE FUNCTION countersign_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION countersign_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION countersign_refuse_change()"
        )
