"""The database handle: one SQLAlchemy engine for SQLite or PostgreSQL, and its migrations.

``Database.open(url)`` accepts the ``DATABASE_URL`` forms the README lists:

* ``sqlite:///path`` – the embedded default.  The parent directory is created; every connection
  runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss), a busy timeout and
  foreign keys on.  SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN`` so that
  :meth:`Database.write_transaction` can take SQLite's write lock up front (``BEGIN IMMEDIATE``).
* ``postgresql://…`` (or ``postgres://``) – translated to the psycopg 3 driver, pooled, with
  pre-ping.  ``schema=`` confines the handle to one schema (created if missing) through the
  connection's ``search_path``; tests use it to run in parallel on one server.

All code is synchronous; the aiohttp shell calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from github_app.store import schema
from github_app.store.schema import MIGRATIONS_DIR, alembic_config

__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config"]
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, restored after a deferred-checkpoint commit
MIGRATE_ATTEMPTS = 5
PG_CONNECT_TIMEOUT_S = 10

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_IMMEDIATE = "countersign_begin_immediate"

Dialect = Literal["sqlite", "postgresql"]


def normalise_url(url: str) -> URL:
    """Parse a ``DATABASE_URL`` and pick the driver Countersign uses for it.

    Raises ``ValueError`` for anything else; the message never contains the password.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError("DATABASE_URL is not a valid database URL") from None
    if parsed.drivername in _PG_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_DRIVERS:
        if (
            not parsed.database
            or parsed.database == ":memory:"
            or parsed.database.startswith("file:")
        ):
            raise ValueError("DATABASE_URL must name a SQLite file: sqlite:///path/to/file.db")
        return parsed.set(drivername="sqlite+pysqlite")
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(f"DATABASE_URL {shown} is not supported: use sqlite:///… or postgresql://…")


def validate_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier, else raise ``ValueError``."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema name {schema!r} must match {_SCHEMA_NAME.pattern}")
    return schema


class Database:
    """A pooled engine plus the few operations every component needs."""

    def __init__(self, engine: Engine, schema: str | None = None) -> None:
        """Wrap an engine built by :meth:`open` (use that instead of calling this)."""
        self._engine = engine
        self._schema = schema

    @classmethod
    def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
    ) -> Database:
        """Open ``url`` (SQLite file or PostgreSQL); ``schema`` is PostgreSQL only."""
        parsed = normalise_url(url)
        if parsed.drivername.startswith("sqlite"):
            if schema is not None:
                raise ValueError("schema= is only meaningful for PostgreSQL")
            return cls(_sqlite_engine(parsed, pool_size, max_overflow))
        if schema is not None:
            validate_schema_name(schema)
            if "options" in parsed.query:
                raise ValueError("give either schema= or an options= query parameter, not both")
        engine = _postgres_engine(parsed, schema, pool_size, max_overflow)
        if schema is not None:
            _create_schema(engine, schema)
        return cls(engine, schema)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (pooled, thread-safe)."""
        return self._engine

    @property
    def dialect(self) -> Dialect:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self._engine.dialect.name == "sqlite" else "postgresql"

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema given to :meth:`open`, if any."""
        return self._schema

    def connect(self) -> Connection:
        """A pooled connection; use as a context manager.  Reads need nothing more."""
        return self._engine.connect()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside a transaction committed on success, rolled back on error."""
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def transaction_checkpointed_later(self) -> Iterator[Connection]:
        """Like :meth:`transaction`, but on SQLite its commit never checkpoints the WAL.

        Every 1,000 WAL pages SQLite's commit copies the log back into the database file and
        syncs it before returning: for large rows (webhook payloads) that is one commit in a
        few taking several times as long, with its callers waiting.  The commit itself is just
        as durable without it (the log is synced); call :meth:`checkpoint` from elsewhere to
        keep the log short.  On PostgreSQL this is :meth:`transaction`.
        """
        if self.dialect != "sqlite":
            with self.transaction() as conn:
                yield conn
            return
        with self._engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA wal_autocheckpoint=0")  # per connection, outside transactions
            try:
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")

    def checkpoint(self) -> None:
        """Copy SQLite's WAL back into the database without blocking writers (no-op on
        PostgreSQL); see :meth:`transaction_checkpointed_later`."""
        if self.dialect != "sqlite":
            return
        with self._engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """Like :meth:`transaction`, but for read-then-write work.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken (or
        waited for) before the first read, so two writers can never both read stale state and
        then fail to upgrade.  On PostgreSQL it is an ordinary READ COMMITTED transaction; take
        an advisory or row lock where the work needs one.
        """
        with self._engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    def migrate(self, *, snapshot: bool = True) -> None:
        """Bring the schema to the newest Alembic revision; safe to run from several replicas.

        The whole upgrade runs in one transaction holding a lock (SQLite's write lock or a
        per-schema PostgreSQL advisory lock), so concurrent starts wait instead of racing.  A
        store already at the head is left alone without importing Alembic, and a new SQLite
        store is created from the head schema in one step unless ``snapshot`` is false
        (:mod:`github_app.store.schema`).
        """
        for attempt in range(MIGRATE_ATTEMPTS):
            try:
                return self._migrate_once(snapshot)
            except sa.exc.OperationalError as error:
                # SQLite can refuse a waiting writer outright (busy without its timeout) while
                # another replica migrates; the next attempt finds the schema current.
                if not is_contention(error) or attempt == MIGRATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _migrate_once(self, snapshot: bool) -> None:
        with self.write_transaction() as conn:
            if self.dialect == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k || current_schema()))"),
                    {"k": "countersign:migrate:"},
                )
            stored = schema.stored_revisions(conn)
            head = schema.shipped_head()
            if head is not None and stored == [head]:
                return
            new_sqlite = not stored and self.dialect == "sqlite" and schema.sqlite_is_empty(conn)
            if snapshot and new_sqlite and schema.create_sqlite_head(conn):
                return
            schema.alembic_upgrade(conn)

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None before the first migration."""
        from alembic.runtime.migration import MigrationContext

        with self.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def ping(self) -> bool:
        """True when a trivial query succeeds; never raises (for readiness probes)."""
        try:
            with self.connect() as conn:
                return conn.execute(sa.text("SELECT 1")).scalar() == 1
        except (sa.exc.SQLAlchemyError, OSError):
            return False

    def drop_schema(self) -> None:
        """Drop the schema given to :meth:`open` with everything in it (tests), then dispose."""
        if self._schema is None:
            raise ValueError("this Database was not opened with schema=")
        with self._engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
        self.dispose()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        """Use as ``with Database.open(url) as db:``; disposes the pool at the end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Dispose the pool."""
        self.dispose()


# SQLSTATEs PostgreSQL uses for contention the next attempt resolves (serialisation failure,
# deadlock detected, lock not available).
_PG_CONTENTION = frozenset({"40001", "40P01", "55P03"})


def is_contention(error: BaseException) -> bool:
    """Whether ``error`` is the database being busy with other writers (retry later, quietly),
    as opposed to a real failure."""
    if not isinstance(error, sa.exc.OperationalError | sa.exc.DBAPIError):
        return False
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in _PG_CONTENTION:
        return True
    text = str(original or error).lower()
    return "database is locked" in text or "database is busy" in text


def upsert(db: Database, table: sa.Table, values: dict[str, Any], keys: list[str]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET`` every other column, for ``db``'s backend."""
    dialect = postgresql if db.dialect == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=changed)


def insert_or_ignore(
    db: Database, conn: Connection, table: sa.Table, values: dict[str, Any]
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``; ``True`` when the row was inserted.

    ``RETURNING`` tells the two cases apart (the drivers' ``rowcount`` is not reliable here).
    """
    dialect = postgresql if db.dialect == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None


def _sqlite_engine(url: URL, pool_size: int, max_overflow: int) -> Engine:
    """A SQLite engine with durable, concurrent-friendly settings on every connection."""
    Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_conn: Any, _record: object) -> None:
    """Per-connection pragmas; hand transaction control to SQLAlchemy's ``begin`` event."""
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(conn: Connection) -> None:
    """Emit BEGIN ourselves: IMMEDIATE for write transactions, DEFERRED otherwise."""
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_engine(url: URL, schema: str | None, pool_size: int, max_overflow: int) -> Engine:
    """A pooled psycopg 3 engine, optionally pinned to ``schema`` via ``search_path``."""
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if schema is not None:
        connect_args["options"] = f"-c search_path={schema}"
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def _create_schema(engine: Engine, schema: str) -> None:
    """Create ``schema`` if it does not exist yet (name already validated)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
