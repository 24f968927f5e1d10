"""Durable storage of webhook deliveries: nothing accepted is ever lost.

A delivery is written (and committed) before GitHub gets its 202.  Workers claim pending rows
with a short lease (``LEASE``) in the name of their replica (``locked_by``) and renew it while
they work (:meth:`Inbox.renew`); a replica that dies stops renewing, so another claims the
delivery within ``LEASE``, and the same replica restarted takes its own leases back at once
(:meth:`Inbox.release_leases_of`).  Claims take the write lock up front (``BEGIN IMMEDIATE`` on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so concurrent workers never collide.
Failures are retried with backoff until ``MAX_ATTEMPTS``, then parked as ``dead`` for a human;
GitHub's "Redeliver" of a dead delivery (same delivery id) puts it back in the queue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from github_app.store import tables
from github_app.store.database import Database
from github_app.store.group_commit import insert_new_rows

MAX_ATTEMPTS = 16  # about 6.4 hours of backoff: outlasts a GitHub outage or a rate-limit reset
LEASE = timedelta(seconds=20)  # renewed every LEASE / 4 while the delivery is being worked on


@dataclass(frozen=True)
class Delivery:
    """One stored webhook delivery."""

    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    payload: bytes
    attempts: int
    repo_id: int | None = None  # GitHub's repository id, copied out of the payload at intake
    payload_sha256: str | None = None  # computed once, at intake


def _now() -> datetime:
    return datetime.now(UTC)


def delivery_row(
    delivery_id: str,
    event: str,
    action: str | None,
    installation_id: int | None,
    payload: bytes,
    *,
    repo_id: int | None = None,
) -> dict[str, object]:
    """The ``webhook_deliveries`` row for a delivery just received (pending, never tried)."""
    now = _now()
    return {
        "repo_id": repo_id,
        "delivery_id": delivery_id,
        "event": event,
        "action": action,
        "installation_id": installation_id,
        "payload": payload,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }


def store_delivery(row: dict[str, object], conn: Connection) -> bool:
    """Insert a delivery row inside the caller's transaction; ``False`` for a repeated id."""
    return store_deliveries(conn, [row])[0]


def store_deliveries(conn: Connection, rows: list[dict[str, object]]) -> list[bool]:
    """Insert delivery rows in one statement inside the caller's transaction.

    One result per row, ``False`` for a repeated id (also repeated within ``rows``: the first
    wins).  A repeated id is not an error (GitHub redelivers); a redelivered ``dead`` delivery
    gets a fresh set of attempts, in the same transaction.
    """
    table = tables.webhook_deliveries
    stored = insert_new_rows(table, ("delivery_id",), conn, rows)
    repeated = sorted(
        {row["delivery_id"] for row, new in zip(rows, stored, strict=True) if not new}
    )
    if repeated:
        conn.execute(
            table.update()
            .where(table.c.delivery_id.in_(repeated), table.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=_now(), locked_until=None)
        )
    return stored


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts`` (1-based): 5 s doubling, capped at one hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


class Inbox:
    """Store, claim and settle webhook deliveries in the ``webhook_deliveries`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    _table = tables.webhook_deliveries

    def store(
        self,
        delivery_id: str,
        event: str,
        action: str | None,
        installation_id: int | None,
        payload: bytes,
        *,
        repo_id: int | None = None,
    ) -> bool:
        """Persist a delivery in its own transaction; ``False`` when it was stored before."""
        row = delivery_row(delivery_id, event, action, installation_id, payload, repo_id=repo_id)
        with self._db.transaction() as conn:
            return store_delivery(row, conn)

    def claim(self, limit: int = 10, replica: str | None = None) -> list[Delivery]:
        """Lease up to ``limit`` deliveries that are due (pending, retrying, or abandoned) to
        ``replica``."""
        table, now = self._table, _now()
        due = sa.and_(
            table.c.status.in_(("pending", "failed", "processing")),
            table.c.next_attempt_at <= now,
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until < now),
        )
        query = sa.select(table).where(due).order_by(table.c.received_at).limit(limit)
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self._db.write_transaction() as conn:
            rows = conn.execute(query).mappings().all()
            ids = [row["delivery_id"] for row in rows]
            if ids:
                conn.execute(
                    table.update()
                    .where(table.c.delivery_id.in_(ids))
                    .values(
                        status="processing",
                        locked_until=now + LEASE,
                        locked_by=replica,
                        attempts=table.c.attempts + 1,
                    )
                )
        return [
            Delivery(
                delivery_id=row["delivery_id"],
                event=row["event"],
                action=row["action"],
                installation_id=row["installation_id"],
                payload=bytes(row["payload"]),
                attempts=row["attempts"] + 1,
                repo_id=row["repo_id"],
                payload_sha256=row["payload_sha256"],
            )
            for row in rows
        ]

    def renew(self, delivery_ids: list[str], replica: str | None) -> int:
        """Extend the leases ``replica`` holds on ``delivery_ids``; returns how many it held."""
        if not delivery_ids:
            return 0
        table = self._table
        held = (
            table.c.delivery_id.in_(delivery_ids)
            & (table.c.status == "processing")
            & (table.c.locked_by == replica)
        )
        with self._db.transaction() as conn:
            return conn.execute(
                table.update().where(held).values(locked_until=_now() + LEASE)
            ).rowcount

    def release_leases_of(self, replica: str) -> int:
        """At start-up: leases still held in this replica's name are from before a crash —
        make those deliveries due again now instead of waiting for the leases to run out."""
        table = self._table
        mine = (table.c.status == "processing") & (table.c.locked_by == replica)
        with self._db.transaction() as conn:
            return conn.execute(
                table.update().where(mine).values(locked_until=None, locked_by=None)
            ).rowcount

    def mark_done(self, delivery_id: str) -> None:
        """Record that a delivery was processed completely."""
        self._settle(delivery_id, status="done", processed_at=_now(), last_error=None)

    def mark_failed(self, delivery: Delivery, error: str) -> str:
        """Schedule a retry with backoff, or park the delivery as ``dead``; returns the status."""
        status = "dead" if delivery.attempts >= MAX_ATTEMPTS else "failed"
        self._settle(
            delivery.delivery_id,
            status=status,
            last_error=error[:2000],
            next_attempt_at=_now() + backoff(delivery.attempts),
        )
        return status

    def pending_count(self) -> int:
        """How many deliveries are stored and not yet settled."""
        table = self._table
        query = sa.select(sa.func.count()).where(
            table.c.status.in_(("pending", "failed", "processing"))
        )
        with self._db.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def status_of(self, delivery_id: str) -> str | None:
        """The processing status of one delivery, or ``None`` if it was never stored."""
        table = self._table
        query = sa.select(table.c.status).where(table.c.delivery_id == delivery_id)
        with self._db.engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def _settle(self, delivery_id: str, **values: object) -> None:
        table = self._table
        with self._db.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.delivery_id == delivery_id)
                .values(locked_until=None, **values)
            )
