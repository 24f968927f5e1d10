"""The two PostgreSQL roles that keep the ledger append-only even against the App itself.

Triggers (migration 0001) refuse UPDATE, DELETE and TRUNCATE on ``ledger_entries``,
``ledger_checkpoints`` and ``access_log`` for everyone — but a table's *owner* can disable or
drop a trigger.  So production uses two roles:

**Owner role** (e.g. ``countersign_owner``): owns the schema and every table, and is the only
role that runs migrations (``Database.migrate()`` in a deploy step or one-off job, with its own
URL).  Nothing long-running connects as it.

**App role** (e.g. ``countersign_app``): what the running replicas connect as
(``DATABASE_URL``).  It is neither owner nor superuser and cannot create objects.  On the
append-only tables it has only ``SELECT`` and ``INSERT`` — ``UPDATE``, ``DELETE``,
``TRUNCATE``, ``REFERENCES`` and ``TRIGGER`` are revoked — so PostgreSQL refuses a rewrite with
"permission denied" before any trigger runs, and the App cannot switch the triggers off.  On the
working tables it gets what its code needs:

=====================  ==================================  ======================================
table                  privileges                          why
=====================  ==================================  ======================================
ledger_entries         SELECT, INSERT                      append and read evidence
ledger_checkpoints     SELECT, INSERT                      write and read signed checkpoints
access_log             SELECT, INSERT                      log API access, show it to auditors
webhook_deliveries     SELECT, INSERT, UPDATE, DELETE      inbox: claim, retry, purge old rows
agent_operation_buffer SELECT, INSERT, DELETE              hold agent operations until flushed
console_sessions       SELECT, INSERT, UPDATE, DELETE      console sign-in, sign-out, purge expired
api_tokens             SELECT, INSERT, UPDATE              create, revoke, note last use
freezes                SELECT, INSERT, UPDATE              freeze, lift
revoked_sessions       SELECT, INSERT, UPDATE              revoke (again) a session
pr_decisions           SELECT, INSERT, UPDATE              upsert the last decision per PR
sync_cursors           SELECT, INSERT, UPDATE              upsert job cursors
alembic_version        SELECT                              readiness: is the schema migrated
sequences              USAGE, SELECT                       identity columns of the tables above
=====================  ==================================  ======================================

One-time setup, as a superuser::

    CREATE ROLE countersign_owner LOGIN PASSWORD '…';
    CREATE ROLE countersign_app LOGIN PASSWORD '…';
    CREATE SCHEMA countersign AUTHORIZATION countersign_owner;
    ALTER ROLE countersign_owner SET search_path = countersign;
    ALTER ROLE countersign_app SET search_path = countersign;

Then after every migration, as the owner, run :func:`app_role_grants_sql` (or
:func:`apply_app_role_grants`): grants are per table, so new tables need them too.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from github_app.store.database import Database, validate_schema_name

APPEND_ONLY = ("ledger_entries", "ledger_checkpoints", "access_log")
READ_WRITE_DELETE = ("webhook_deliveries", "agent_operation_buffer", "console_sessions")
READ_WRITE = ("api_tokens", "freezes", "revoked_sessions", "pr_decisions", "sync_cursors")
READ_ONLY = ("alembic_version",)

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_grants_sql(role: str, schema: str) -> list[str]:
    """The GRANT/REVOKE statements that give ``role`` exactly the App's privileges in ``schema``.

    Pure: returns SQL text for the owner (or a superuser) to execute.  Names must be plain
    lower-case identifiers; anything else raises ``ValueError``.
    """
    if not _ROLE_NAME.match(role):
        raise ValueError(f"role name {role!r} must match {_ROLE_NAME.pattern}")
    validate_schema_name(schema)

    def tables(names: tuple[str, ...]) -> str:
        return ", ".join(f'"{schema}"."{name}"' for name in names)

    return [
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'REVOKE CREATE ON SCHEMA "{schema}" FROM "{role}"',
        f'REVOKE ALL ON {tables(APPEND_ONLY)} FROM "{role}"',
        f'GRANT SELECT, INSERT ON {tables(APPEND_ONLY)} TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON {tables(READ_WRITE_DELETE)} TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE ON {tables(READ_WRITE)} TO "{role}"',
        f'GRANT SELECT ON {tables(READ_ONLY)} TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
    ]


def apply_app_role_grants(db: Database, role: str, schema: str | None = None) -> None:
    """Execute :func:`app_role_grants_sql` on ``db`` (connected as the owner) in one transaction.

    ``schema`` defaults to the schema ``db`` was opened with, else PostgreSQL's
    ``current_schema()``.
    """
    if db.dialect != "postgresql":
        raise ValueError("database roles exist only on PostgreSQL")
    with db.transaction() as conn:
        target = schema or db.schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
        for statement in app_role_grants_sql(role, str(target)):
            conn.execute(sa.text(statement))
