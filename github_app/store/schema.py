"""Where the schema stands, without Alembic: the shipped head, the stored revision, and the
SQLite head schema a new store is created from.

Start-up checks the store before anything else, and Alembic's machinery (its DDL layer, every
dialect's operations, Mako) takes longer to import than the rest of the check.  So
:meth:`github_app.store.database.Database.migrate` reads ``alembic_version`` itself and
compares it with the head found in ``migrations/versions`` (each revision file's ``revision``
and ``down_revision`` lines); a store at the head needs no Alembic at all.  A new, empty
SQLite store is created in one step from ``sqlite_head.sql``: the schema exactly as the
migrations leave it (``sqlite_master``, in creation order) and its ``alembic_version`` row.
Any other case — an older store, PostgreSQL, a snapshot that is not at the head — runs the
migrations, with Alembic imported only then (:func:`alembic_upgrade`).  A test migrates a
store with Alembic and requires the snapshot to match it; ``python -m
github_app.store.snapshot`` rewrites it after a new migration.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent
MIGRATIONS_DIR = HERE / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
SQLITE_HEAD = HERE / "sqlite_head.sql"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(?:None|['\"]([^'\"]+)['\"])", re.MULTILINE)
HEADER = "-- revision: "


@cache
def shipped_head() -> str | None:
    """The newest revision in ``migrations/versions``; None unless there is exactly one head
    (then only Alembic can tell what to do)."""
    revisions, parents = set(), set()
    for path in VERSIONS_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None:
            continue  # __init__.py
        if down is None:
            return None  # a merge point or a form this reader does not know
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def stored_revisions(conn: Connection) -> list[str]:
    """The revisions ``alembic_version`` holds (empty before the first migration)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return []
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return sorted(row[0] for row in rows)


def sqlite_is_empty(conn: Connection) -> bool:
    """Whether a SQLite database has no schema object at all."""
    return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


@cache
def _sqlite_head() -> tuple[str | None, tuple[str, ...]]:
    """The snapshot's revision and statements (each complete, in order)."""
    if not SQLITE_HEAD.is_file():
        return None, ()
    text = SQLITE_HEAD.read_text(encoding="utf-8")
    revision = text.splitlines()[0].removeprefix(HEADER) if text.startswith(HEADER) else None
    statements, pending = [], ""
    for line in text.splitlines(keepends=True):
        if not pending and line.startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):  # a trigger's inner ';' does not end it
            statements.append(pending.strip())
            pending = ""
    return revision, tuple(statements)


def create_sqlite_head(conn: Connection) -> bool:
    """Create the head schema in an empty SQLite store, inside the caller's transaction.

    Returns False, having done nothing, when the snapshot is missing or not at the shipped
    head (the caller then migrates with Alembic).
    """
    revision, statements = _sqlite_head()
    if revision is None or revision != shipped_head():
        return False
    for statement in statements:
        conn.exec_driver_sql(statement)
    return True


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config  # Alembic only when a migration runs (module docstring)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def alembic_upgrade(conn: Connection) -> None:
    """Run the migrations up to the head on ``conn`` (in the caller's transaction and lock)."""
    from alembic import command  # as above

    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
