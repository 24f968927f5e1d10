"""Opening, configuring and migrating the database, on SQLite and on real PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from github_app.store import Database, normalise_url
from github_app.store.database import MIGRATIONS_DIR, validate_schema_name
from github_app.store.tables import metadata, sync_cursors, webhook_deliveries
from tests.support.databases import sweep_stale_schemas, unique_schema_name

ALL_TABLES = {
    "webhook_deliveries",
    "ledger_entries",
    "ledger_checkpoints",
    "api_tokens",
    "access_log",
    "freezes",
    "revoked_sessions",
    "console_sessions",
    "pr_decisions",
    "merge_groups",
    "pr_retargets",
    "pr_pushers",
    "sync_cursors",
    "check_runs",
    "alembic_version",
    "agent_operation_buffer",
}


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///data/countersign.db", "sqlite+pysqlite"),
        ("postgresql://u:p@db:5432/cs", "postgresql+psycopg"),
        ("postgres://u:p@db/cs", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/cs", "postgresql+psycopg"),
    ],
)
def test_urls_are_translated_to_the_drivers_we_ship(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root:hunter2@db/cs",
        "postgresql+psycopg2://root:hunter2@db/cs",
        "sqlite://",
        "sqlite:///:memory:",
        "not a url",
    ],
)
def test_unsupported_urls_are_refused_without_showing_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as refused:
        normalise_url(url)
    assert "hunter2" not in str(refused.value)


def test_sqlite_file_and_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "countersign.db"
    with Database.open(f"sqlite:///{path}") as db:
        assert db.dialect == "sqlite"
        assert db.ping()
    assert path.exists()


def test_sqlite_connections_are_durable_and_concurrent(tmp_path: Path) -> None:
    with Database.open(f"sqlite:///{tmp_path / 'x.db'}") as db, db.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 30_000


def test_sqlite_write_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with Database.open(f"sqlite:///{path}") as db:
        db.migrate()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with db.write_transaction() as conn:
                conn.execute(sa.text("SELECT 1"))  # only a read so far, yet the lock is ours
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # released at commit
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_ping_is_false_when_the_server_is_unreachable() -> None:
    with Database.open("postgresql://postgres@127.0.0.1:1/none") as db:
        assert db.ping() is False


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    with Database.open(database_url) as db:
        assert db.schema_revision() is None
        db.migrate()
        db.migrate()
        assert db.schema_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        assert set(sa.inspect(db.engine).get_table_names()) == ALL_TABLES


def test_concurrent_migrations_from_several_replicas_agree(database_url: str) -> None:
    handles = [Database.open(database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(db: Database) -> None:
        try:
            db.migrate()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in handles:
        db.dispose()
    assert errors == []


# SQLite cannot reflect expression indexes (the one-active-freeze-per-scope index): Alembic
# skips comparing it there, with these warnings; PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_core_tables_match_the_migrated_schema(database: Database) -> None:
    with database.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migration_files_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()  # found as a package


def test_timestamps_come_back_as_aware_utc(database: Database) -> None:
    paris = timezone(timedelta(hours=2))
    written = datetime(2025, 6, 1, 14, 0, 0, 123456, tzinfo=paris)
    with database.transaction() as conn:
        conn.execute(
            sync_cursors.insert(), {"name": "rule-suites", "value": "x", "updated_at": written}
        )
    with database.connect() as conn:
        read = conn.execute(sa.select(sync_cursors.c.updated_at)).scalar_one()
    assert read == written
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(database: Database) -> None:
    with (
        pytest.raises(sa.exc.StatementError, match="timezone-aware"),
        database.transaction() as conn,
    ):
        conn.execute(
            sync_cursors.insert(), {"name": "n", "value": "x", "updated_at": datetime(2025, 1, 1)}
        )


def test_server_defaults_fill_an_inbox_row(database: Database) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    with database.transaction() as conn:
        conn.execute(
            webhook_deliveries.insert(),
            {"delivery_id": "d-1", "event": "push", "payload": b"{}", "payload_sha256": "0" * 64},
        )
    with database.connect() as conn:
        row = conn.execute(sa.select(webhook_deliveries)).one()
    assert row.status == "pending" and row.attempts == 0
    assert row.received_at >= before and row.next_attempt_at >= before
    assert row.payload == b"{}"


def test_inbox_status_is_constrained(database: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as conn:
        conn.execute(
            webhook_deliveries.insert(),
            {
                "delivery_id": "d-2",
                "event": "push",
                "payload": b"{}",
                "payload_sha256": "0" * 64,
                "status": "lost",
            },
        )


def test_postgresql_schemas_isolate_parallel_tests(postgres_url: str) -> None:
    base = postgres_url.split("?")[0]
    with (
        Database.open(base, schema="cs_test_iso_a_" + postgres_url[-6:]) as first,
        Database.open(base, schema="cs_test_iso_b_" + postgres_url[-6:]) as second,
    ):
        try:
            first.migrate()
            second.migrate()
            with first.transaction() as conn:
                conn.execute(sync_cursors.insert(), {"name": "only-in-a", "value": "1"})
            with second.connect() as conn:
                assert (
                    conn.execute(sa.select(sa.func.count()).select_from(sync_cursors)).scalar() == 0
                )
            assert first.schema and first.schema != second.schema
        finally:
            first.drop_schema()
            second.drop_schema()


@pytest.mark.parametrize("name", ["Upper", "has space", "x;drop", "", "a" * 64])
def test_bad_schema_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        validate_schema_name(name)


def test_schemas_left_by_killed_runs_are_swept(postgres_url: str) -> None:
    stale, fresh = "cs_test_1000000000_deadbeef", unique_schema_name()
    with Database.open(postgres_url) as db:
        with db.transaction() as conn:
            for name in (stale, fresh):
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
        sweep_stale_schemas.cache_clear()
        sweep_stale_schemas()
        with db.connect() as conn:
            left = set(conn.execute(sa.text("SELECT nspname FROM pg_namespace")).scalars())
        with db.transaction() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{fresh}"'))
    assert stale not in left
    assert fresh in left
