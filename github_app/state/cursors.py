"""Named values in ``sync_cursors``: job cursors, and claims that make work happen once.

A *claim* is a row inserted under a unique name: the insert succeeds for exactly one caller,
even across replicas sharing a PostgreSQL store, so whoever claims a rule suite or an incident
is the one who records it.  Synchronous; call through ``asyncio.to_thread``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from github_app.store.database import Database, insert_or_ignore, upsert
from github_app.store.tables import sync_cursors


def read(db: Database, name: str) -> str | None:
    """The value stored under ``name``, or ``None``."""
    query = sa.select(sync_cursors.c.value).where(sync_cursors.c.name == name)
    with db.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def write(db: Database, name: str, value: str) -> None:
    """Store ``value`` under ``name``, replacing what was there."""
    values = {"name": name, "value": value, "updated_at": datetime.now(UTC)}
    with db.transaction() as conn:
        conn.execute(upsert(db, sync_cursors, values, ["name"]))


def claim(db: Database, name: str, value: str = "") -> bool:
    """Insert ``name``; ``True`` for the one caller that created it, ``False`` if it existed."""
    values = {"name": name, "value": value, "updated_at": datetime.now(UTC)}
    with db.transaction() as conn:
        return insert_or_ignore(db, conn, sync_cursors, values)


def prune(db: Database, prefix: str, older_than: datetime) -> int:
    """Delete the rows named ``prefix…`` last written before ``older_than``; returns how many."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = sync_cursors.c.name.like(f"{escaped}%", escape="\\") & (
        sync_cursors.c.updated_at < older_than
    )
    with db.transaction() as conn:
        return conn.execute(sync_cursors.delete().where(condition)).rowcount
