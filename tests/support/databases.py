"""Database fixtures for every test directory: the same test runs on SQLite and real PostgreSQL.

Use from a ``conftest.py``::

    from tests.support.databases import database, database_url  # noqa: F401

``database_url`` is parametrised over ``sqlite`` (a file under ``tmp_path``) and
``postgresql`` (a fresh schema on the server at ``$COUNTERSIGN_TEST_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``, named in the URL's ``options`` so any code that
calls ``Database.open(url)`` lands in it; dropped afterwards).  ``database`` is an open,
migrated :class:`~github_app.store.Database` on that URL.

When PostgreSQL is unreachable its parameters skip with a message saying how to fix it — unless
``CI`` is set, in which case they fail: CI must test the real thing.
"""

from __future__ import annotations

import functools
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from github_app.store import Database

PG_URL_ENV = "COUNTERSIGN_TEST_DATABASE_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
SCHEMA_PREFIX = "cs_test"
STALE_AFTER_S = 6 * 3600
_SCHEMA_BIRTH = re.compile(rf"^{SCHEMA_PREFIX}_(\d{{10}})_[0-9a-f]{{8}}$")


def postgres_base_url() -> str:
    """The PostgreSQL server tests use (without a schema)."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


@functools.cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers (checked once per session)."""
    url = sa.make_url(postgres_base_url())
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        shown = url.render_as_string(hide_password=True)
        return (
            f"PostgreSQL not reachable at {shown} — set {PG_URL_ENV} or start it "
            f"({type(error).__name__})"
        )
    return None


def require_postgres() -> None:
    """Skip the current test if PostgreSQL is unreachable — or fail it when ``CI`` is set."""
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def unique_schema_name(prefix: str = SCHEMA_PREFIX) -> str:
    """A schema name no other test (or parallel worker) will pick; it records its birth time."""
    return f"{prefix}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


@functools.cache
def sweep_stale_schemas() -> None:
    """Once per session, drop test schemas left behind by runs that were killed mid-test.

    Only schemas named by :func:`unique_schema_name` and older than ``STALE_AFTER_S`` go: no
    live test is that old, so parallel runs never lose each other's schemas.
    """
    cutoff = time.time() - STALE_AFTER_S
    admin = Database.open(postgres_base_url(), pool_size=1, max_overflow=0)
    try:
        with admin.connect() as conn:
            names = conn.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                {"p": f"{SCHEMA_PREFIX}\\_%"},
            ).scalars()
            stale = [name for name in names if _born_before(name, cutoff)]
        for name in stale:
            with admin.transaction() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    except sa.exc.SQLAlchemyError:
        pass  # hygiene only: never fail a test over it
    finally:
        admin.dispose()


def _born_before(schema: str, cutoff: float) -> bool:
    match = _SCHEMA_BIRTH.match(schema)
    return match is not None and int(match.group(1)) < cutoff


def url_with_schema(base_url: str, schema: str) -> str:
    """``base_url`` with ``search_path`` pinned to ``schema`` through libpq ``options``."""
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """Create a fresh schema, yield a URL confined to it, drop it afterwards."""
    require_postgres()
    sweep_stale_schemas()
    base = postgres_base_url()
    schema = unique_schema_name()
    admin = Database.open(base, pool_size=1, max_overflow=0)
    try:
        with admin.transaction() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield url_with_schema(base, schema)
        finally:
            with admin.transaction() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def temporary_database_url(backend: str, directory: Path) -> Iterator[str]:
    """A URL for an empty database of ``backend`` ("sqlite" files go under ``directory``)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'countersign.db'}"
    elif backend == "postgresql":
        with postgres_schema_url() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database URL, once per backend."""
    with temporary_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An open, migrated database, once per backend; disposed before its schema is dropped."""
    db = Database.open(database_url)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL schema URL, for tests about PostgreSQL only."""
    with postgres_schema_url() as url:
        yield url


def drop_append_only_guards(db: Database) -> None:
    """Remove the append-only triggers, as an attacker with owner access could (tamper tests)."""
    tables = ("ledger_entries", "ledger_checkpoints", "access_log")
    with db.transaction() as conn:
        for table in tables:
            if db.dialect == "postgresql":
                conn.execute(sa.text(f"DROP TRIGGER {table}_refuse_change ON {table}"))
                conn.execute(sa.text(f"DROP TRIGGER {table}_refuse_truncate ON {table}"))
            else:
                conn.execute(sa.text(f"DROP TRIGGER {table}_refuse_update"))
                conn.execute(sa.text(f"DROP TRIGGER {table}_refuse_delete"))


def _libpq_url(url: sa.URL) -> str:
    """A SQLAlchemy URL as a plain libpq connection string for psycopg."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
