"""Group commit: many small durable inserts share one transaction (one fsync).

With SQLite in ``synchronous=FULL`` every commit waits for the disk, so fifty agents each
inserting one row would queue fifty fsyncs.  :class:`GroupCommit` lets concurrent callers hand
over their rows and wait: whatever arrived while the previous transaction was committing is
written together in the next one, and each caller returns only once its rows are durable (or
gets the error).  Nothing is acknowledged before it is on disk, and nothing waits for a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from github_app.store.database import Database

Rows = Sequence[tuple[sa.Table, dict[str, Any]]]
MAX_GROUP = 512


class GroupCommit:
    """Insert rows for concurrent callers in shared transactions (one event loop)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[tuple[Rows, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, rows: Rows) -> None:
        """Insert ``rows`` (table, values) durably, in order, together with other callers'."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                await asyncio.to_thread(self._commit, [rows for rows, _ in group])
            except Exception as error:
                await self._one_by_one(group, error)
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)

    async def _one_by_one(self, group: list, error: Exception) -> None:
        """A failed group is retried caller by caller, so one bad row fails only its caller."""
        if len(group) == 1:
            _, future = group[0]
            if not future.done():
                future.set_exception(error)
            return
        for rows, future in group:
            try:
                await asyncio.to_thread(self._commit, [rows])
            except Exception as single:
                if not future.done():
                    future.set_exception(single)
            else:
                if not future.done():
                    future.set_result(None)

    def _commit(self, groups: list[Rows]) -> None:
        with self._db.transaction() as conn:
            for rows in groups:
                for table, values in rows:
                    conn.execute(table.insert().values(**values))
