"""Agent session state: the durable operation buffer and the attested-session lookup.

Accepted ``PostToolUse`` operations are inserted into ``agent_operation_buffer`` before the hook
is answered, so an operation Countersign accepted survives a crash.  :meth:`AgentSessions.flush`
moves a session's buffered operations to the ledger as ``agent_operation`` entries (grouped by
:func:`github_app.sessions.records.group_operations`) and deletes them *in the same transaction*
as the append: nothing is lost, nothing is written twice, and the order is kept.  On PostgreSQL
the rows are locked (``FOR UPDATE SKIP LOCKED``) so two replicas never flush the same rows.

Synchronous, like the rest of the store; the shell calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from github_app.ledger.entry import LedgerEntry, NewEntry
from github_app.sessions.attestation import AttestedSession
from github_app.sessions.records import BufferedOperation, group_operations, operations_entry
from github_app.store.database import Database
from github_app.store.ledger import Ledger
from github_app.store.tables import agent_operation_buffer as buffer


class AgentSessions:
    """Buffer, flush and record agent session events."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self._db = db
        self._ledger = ledger

    def record(self, *entries: NewEntry) -> list[LedgerEntry]:
        """Append entries now (launch, denial), then sign a checkpoint if one is due."""
        written = self._ledger.append_many(entries)
        self._ledger.maybe_checkpoint()
        return written

    def buffer(
        self,
        *,
        session_id: str,
        received_at: datetime,
        agent: str,
        launched_by: str,
        actor: str,
        repo: str | None,
        operation: dict,
    ) -> tuple[int, datetime]:
        """Store one operation durably; returns the session's buffered count and oldest time."""
        values = {
            "session_id": session_id,
            "received_at": received_at,
            "agent": agent,
            "launched_by": launched_by,
            "actor": actor,
            "repo": repo,
            "operation": json.dumps(operation, sort_keys=True, separators=(",", ":")),
        }
        pending = sa.select(sa.func.count(), sa.func.min(buffer.c.received_at)).where(
            buffer.c.session_id == session_id
        )
        with self._db.transaction() as conn:
            conn.execute(buffer.insert().values(**values))
            count, oldest = conn.execute(pending).one()
        return int(count), oldest or received_at

    def pending(self, session_id: str) -> tuple[int, datetime | None]:
        """How many operations of the session wait in the buffer, and since when."""
        query = sa.select(sa.func.count(), sa.func.min(buffer.c.received_at)).where(
            buffer.c.session_id == session_id
        )
        with self._db.connect() as conn:
            count, oldest = conn.execute(query).one()
        return int(count), oldest

    def flush(self, session_id: str, *, then: NewEntry | None = None) -> list[LedgerEntry]:
        """Write the session's buffered operations (and ``then``, e.g. its end) to the ledger."""
        with self._db.write_transaction() as conn:
            written = self.flush_in(conn, session_id, then=then)
        if written:
            self._ledger.maybe_checkpoint()
        return written

    def flush_in(
        self, conn: Connection, session_id: str, *, then: NewEntry | None = None
    ) -> list[LedgerEntry]:
        """:meth:`flush` inside ``conn`` (a write transaction, e.g. a group commit's), without
        the checkpoint: the caller signs one once the transaction has committed."""
        query = sa.select(buffer).where(buffer.c.session_id == session_id).order_by(buffer.c.id)
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [_buffered(row) for row in conn.execute(query).mappings()]
        entries = [operations_entry(group) for group in group_operations(rows)]
        if then is not None:
            entries.append(then)
        written = self._ledger.append_many(entries, conn=conn)
        if rows:
            conn.execute(buffer.delete().where(buffer.c.id.in_([row.id for row in rows])))
        return written

    def record_in(self, conn: Connection, *entries: NewEntry) -> list[LedgerEntry]:
        """:meth:`record` inside ``conn`` (a write transaction), without the checkpoint."""
        return self._ledger.append_many(entries, conn=conn)

    def sessions_waiting(self, older_than: datetime | None = None) -> list[str]:
        """Sessions with buffered operations (received before ``older_than``, when given)."""
        query = sa.select(buffer.c.session_id).distinct()
        if older_than is not None:
            query = query.where(buffer.c.received_at < older_than)
        with self._db.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def flush_waiting(self, now: datetime, after: timedelta | None) -> int:
        """Flush every session with operations older than ``after`` (all, when None)."""
        cutoff = None if after is None else now - after
        written = 0
        for session_id in self.sessions_waiting(cutoff):
            written += len(self.flush(session_id))
        return written


def attested_sessions(ledger: Ledger, ids: Iterable[str]) -> dict[str, AttestedSession]:
    """For each id with a ``session_started`` entry (posted with an agent token), what the first
    such entry attests."""
    found: dict[str, AttestedSession] = {}
    for session_id in ids:
        started = next(
            iter(ledger.entries(session_id=session_id, kinds=["session_started"], limit=1)), None
        )
        if started is not None and started.launched_by:
            found[session_id] = AttestedSession(
                session_id=session_id,
                launched_by=started.launched_by,
                agent=started.agent,
                token_name=started.actor,
            )
    return found


def _buffered(row: sa.RowMapping) -> BufferedOperation:
    return BufferedOperation(
        id=int(row["id"]),
        session_id=row["session_id"],
        received_at=row["received_at"],
        agent=row["agent"],
        launched_by=row["launched_by"],
        actor=row["actor"],
        repo=row["repo"],
        operation=json.loads(row["operation"]),
    )
