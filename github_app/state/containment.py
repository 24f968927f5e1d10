"""Freezes (org-wide or per repository) and revoked agent sessions.

Each change takes an optional ``conn`` so a caller can make it one transaction with the ledger
entry that records it (``api.freeze_revoke``); without one it commits on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from github_app.store import tables
from github_app.store.database import Database, insert_or_ignore


@dataclass(frozen=True)
class Freeze:
    """An active freeze: agent changes are blocked while it lasts."""

    id: int
    repo: str | None  # None: every repository of the installation
    reason: str
    actor: str


class Containment:
    """Read and change freezes and session revocations."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def active_freeze(self, repo: str) -> Freeze | None:
        """The freeze that applies to ``repo`` (``owner/name``), if any."""
        table = tables.freezes
        query = (
            sa.select(table)
            .where(table.c.lifted_at.is_(None), sa.or_(_scope(table, None), _scope(table, repo)))
            .order_by(table.c.id)
        )
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return (
            None
            if row is None
            else Freeze(row["id"], row["repo"], row["reason"] or "", row["actor"] or "")
        )

    def active_freezes(self) -> list[Freeze]:
        """Every freeze in force, oldest first (org-wide ones have ``repo`` None)."""
        table = tables.freezes
        query = sa.select(table).where(table.c.lifted_at.is_(None)).order_by(table.c.id)
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Freeze(r["id"], r["repo"], r["reason"] or "", r["actor"] or "") for r in rows]

    def freeze(
        self, repo: str | None, reason: str, actor: str, *, conn: Connection | None = None
    ) -> bool:
        """Start a freeze; ``False`` when the same scope is already frozen.

        One active freeze per scope is a unique index, so of two concurrent freezes of one
        scope (two replicas, the API and the CLI) exactly one inserts and returns ``True``.
        """
        if conn is None:
            with self._db.write_transaction() as own:
                return self.freeze(repo, reason, actor, conn=own)
        values = {"repo": repo, "reason": reason, "actor": actor, "created_at": datetime.now(UTC)}
        return insert_or_ignore(self._db, conn, tables.freezes, values)

    def unfreeze(self, repo: str | None, actor: str, *, conn: Connection | None = None) -> bool:
        """Lift the freeze on a scope; ``False`` when it was not frozen."""
        if conn is None:
            with self._db.write_transaction() as own:
                return self.unfreeze(repo, actor, conn=own)
        table = tables.freezes
        lifted = conn.execute(
            table.update()
            .where(_scope(table, repo), table.c.lifted_at.is_(None))
            .values(lifted_at=datetime.now(UTC), lifted_by=actor)
        ).rowcount
        return bool(lifted)

    def revoke_session(
        self, session_id: str, reason: str, actor: str, *, conn: Connection | None = None
    ) -> bool:
        """Revoke an agent session; ``False`` when it was already revoked."""
        if conn is None:
            with self._db.write_transaction() as own:
                return self.revoke_session(session_id, reason, actor, conn=own)
        values = {
            "session_id": session_id,
            "reason": reason,
            "actor": actor,
            "revoked_at": datetime.now(UTC),
        }
        return insert_or_ignore(self._db, conn, tables.revoked_sessions, values)

    def revoked_session_ids(self) -> frozenset[str]:
        """Every revoked session (revocations are people's actions: the set stays small)."""
        table = tables.revoked_sessions
        with self._db.engine.connect() as conn:
            return frozenset(conn.execute(sa.select(table.c.session_id)).scalars())

    def is_revoked(self, session_id: str | None) -> bool:
        """Whether this session was revoked."""
        if not session_id:
            return False
        table = tables.revoked_sessions
        query = sa.select(table.c.session_id).where(table.c.session_id == session_id)
        with self._db.engine.connect() as conn:
            return conn.execute(query).first() is not None


def _scope(table: sa.Table, repo: str | None) -> sa.ColumnElement[bool]:
    """Rows of one freeze scope: org-wide, or one repository (GitHub names ignore case)."""
    if repo is None:
        return table.c.repo.is_(None)
    return sa.func.lower(table.c.repo) == repo.lower()
