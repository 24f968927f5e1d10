"""The database itself refuses to rewrite evidence: triggers, and on PostgreSQL the App's role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from github_app.ledger import NewEntry
from github_app.store import Database
from github_app.store.ledger import Ledger
from github_app.store.roles import app_role_grants_sql, apply_app_role_grants
from github_app.store.tables import access_log, webhook_deliveries

APPEND_ONLY = ("ledger_entries", "ledger_checkpoints", "access_log")
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def seed(db: Database) -> None:
    """One row in each append-only table."""
    ledger = Ledger(db, None)
    ledger.append_many(NewEntry(kind="drill", occurred_at=NOW) for _ in range(2))
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ledger_checkpoints (size, root_hash, head_hash, created_at, key_id, "
                "public_key, signature, frontier) VALUES (1, :h, :h, :t, 'k', :h, :h, '')"
            ),
            {"h": "0" * 64, "t": NOW},
        )
        conn.execute(
            access_log.insert(), {"method": "GET", "path": "/api/v1/evidence", "status": 200}
        )


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}"],
)
def test_rewrites_are_refused_by_triggers(database: Database, table: str, statement: str) -> None:
    seed(database)
    column = {"ledger_entries": "actor", "ledger_checkpoints": "key_id", "access_log": "path"}[
        table
    ]
    with pytest.raises(sa.exc.IntegrityError, match="append-only"), database.transaction() as conn:
        conn.execute(sa.text(statement.format(table=table, column=column)))
    with database.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() > 0


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_is_refused_on_postgresql(postgres_url: str, table: str) -> None:
    with Database.open(postgres_url) as db:
        db.migrate()
        seed(db)
        refused = pytest.raises(sa.exc.IntegrityError, match="append-only: TRUNCATE refused")
        with refused, db.transaction() as conn:
            conn.execute(sa.text(f"TRUNCATE {table}"))


def test_working_tables_stay_writable(database: Database) -> None:
    with database.transaction() as conn:
        conn.execute(
            webhook_deliveries.insert(),
            {"delivery_id": "d", "event": "ping", "payload": b"{}", "payload_sha256": "0" * 64},
        )
        conn.execute(webhook_deliveries.update().values(status="done", attempts=1))
        conn.execute(webhook_deliveries.delete())


def test_grants_are_plain_sql_for_valid_names() -> None:
    statements = app_role_grants_sql("countersign_app", "countersign")
    joined = "\n".join(statements)
    assert 'GRANT SELECT, INSERT ON "countersign"."ledger_entries"' in joined
    assert 'REVOKE ALL ON "countersign"."ledger_entries"' in joined
    assert "UPDATE" not in next(s for s in statements if s.startswith("GRANT SELECT, INSERT ON"))
    with pytest.raises(ValueError):
        app_role_grants_sql("app; DROP TABLE x", "countersign")
    with pytest.raises(ValueError):
        app_role_grants_sql("countersign_app", "Bad Schema")


@pytest.fixture
def app_role(postgres_url: str) -> Iterator[tuple[Database, Database]]:
    """(owner, app): the schema migrated by the owner, and a handle logged in as a new App role."""
    role = f"cs_app_{uuid.uuid4().hex[:10]}"
    owner = Database.open(postgres_url)
    owner.migrate()
    with owner.transaction() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    apply_app_role_grants(owner, role, _schema_of(owner))
    app_url = sa.make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    app = Database.open(app_url)
    try:
        yield owner, app
    finally:
        app.dispose()
        with owner.transaction() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        owner.dispose()


def _schema_of(db: Database) -> str:
    with db.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar())


def test_the_app_role_can_append_and_read_but_not_rewrite(
    app_role: tuple[Database, Database],
) -> None:
    owner, app = app_role
    seed(owner)
    ledger = Ledger(app, None)
    appended = ledger.append(NewEntry(kind="alert", occurred_at=NOW, actor="app"))
    assert appended.seq == 3
    assert [entry.seq for entry in ledger.entries()] == [1, 2, 3]
    with app.transaction() as conn:  # the working tables need what the App's code does
        conn.execute(access_log.insert(), {"method": "GET", "path": "/", "status": 200})
        conn.execute(
            webhook_deliveries.insert(),
            {"delivery_id": "d", "event": "ping", "payload": b"{}", "payload_sha256": "0" * 64},
        )
        conn.execute(webhook_deliveries.update().values(status="done"))
    for statement in (
        "UPDATE ledger_entries SET actor = 'mallory'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
        "DELETE FROM ledger_checkpoints",
        "UPDATE access_log SET status = 200",
        "ALTER TABLE ledger_entries DISABLE TRIGGER USER",
        "DROP TRIGGER ledger_entries_refuse_change ON ledger_entries",
        "CREATE TABLE sneaky (x int)",
    ):
        refused = pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner")
        with refused, app.transaction() as conn:
            conn.execute(sa.text(statement))
