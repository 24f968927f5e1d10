"""Work locks: one holder at a time per key (a pull request, a commit, a job), across replicas.

Every replica of Countersign shares the database, so the database is where work is serialised:

* **PostgreSQL** — a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept
  for as long as the work runs.  Waiting polls the *try* form from the event loop, so a waiting
  task never holds a thread; a replica that dies (even ``kill -9``) loses its connection and
  PostgreSQL releases its locks at once.
* **SQLite** — a file that only one process writes at a time, so one process per database file
  is supported and an in-process lock is the whole story.

Within a process an :class:`asyncio.Lock` per key comes first, so tasks of one replica queue in
order without touching the database.  Keys are hashed to the 64-bit integer PostgreSQL wants.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from github_app.logs import get_logger
from github_app.store.database import Database

log = get_logger(__name__)

POLL_SECONDS = 0.05
_NAMESPACE = "countersign:work:"


def lock_key(schema: str | None, *parts: object) -> int:
    """A signed 64-bit advisory-lock key for ``parts`` (stable across processes)."""
    text = _NAMESPACE + (schema or "") + ":" + ":".join(str(part) for part in parts)
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class WorkLocks:
    """Hold a lock per key around a unit of work (``async with locks.hold("pr", 1, 2):``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._local: WeakValueDictionary[tuple, asyncio.Lock] = WeakValueDictionary()

    def _local_lock(self, parts: tuple) -> asyncio.Lock:
        lock = self._local.get(parts)
        if lock is None:
            lock = asyncio.Lock()
            self._local[parts] = lock
        return lock

    @asynccontextmanager
    async def hold(self, *parts: object) -> AsyncIterator[None]:
        """Wait for the lock on ``parts`` and hold it for the block."""
        local = self._local_lock(parts)
        async with local:
            if self._db.dialect != "postgresql":
                yield
                return
            conn = await self._acquire(parts, wait=True)
            assert conn is not None
            try:
                yield
            finally:
                await asyncio.to_thread(_release, conn, self._key(parts))

    @asynccontextmanager
    async def try_hold(self, *parts: object) -> AsyncIterator[bool]:
        """Take the lock on ``parts`` if it is free; the block gets whether it was taken."""
        local = self._local_lock(parts)
        if local.locked():
            yield False
            return
        async with local:
            if self._db.dialect != "postgresql":
                yield True
                return
            conn = await self._acquire(parts, wait=False)
            if conn is None:
                yield False
                return
            try:
                yield True
            finally:
                await asyncio.to_thread(_release, conn, self._key(parts))

    def _key(self, parts: tuple) -> int:
        return lock_key(self._db.schema, *parts)

    async def _acquire(self, parts: tuple, *, wait: bool) -> Connection | None:
        """A connection holding the advisory lock, or None (``wait=False`` and it is taken)."""
        key = self._key(parts)
        conn = await asyncio.to_thread(self._db.engine.connect)
        try:
            while not await asyncio.to_thread(_try_lock, conn, key):
                if not wait:
                    await asyncio.to_thread(conn.close)
                    return None
                await asyncio.sleep(POLL_SECONDS)
        except BaseException:
            await asyncio.to_thread(conn.close)
            raise
        return conn


def _try_lock(conn: Connection, key: int) -> bool:
    """One attempt at the session-level advisory lock (autocommitted: no open transaction)."""
    taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    conn.commit()
    return bool(taken)


def _release(conn: Connection, key: int) -> None:
    """Release the lock and return the connection to the pool."""
    try:
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
    except sa.exc.SQLAlchemyError:
        # The connection is broken: closing it ends the session, which releases the lock.
        log.warning("work_lock_release_failed", key=key)
        conn.invalidate()
    finally:
        conn.close()
