"""Group commit: many small durable writes share one transaction (one fsync).

With SQLite in ``synchronous=FULL`` every commit waits for the disk, so fifty agents each
inserting one row would queue fifty fsyncs.  :class:`GroupCommit` lets concurrent callers hand
over their writes and wait: whatever arrived while the previous transaction was committing is
written together in the next one, and each caller returns only once its writes are durable (or
gets the error).  Nothing is acknowledged before it is on disk, and nothing waits for a timer.

A caller hands over either rows to insert (:meth:`GroupCommit.write`), a row that may already
exist (:meth:`GroupCommit.insert_new`, which says whether it was new), or any function of the
open connection (:meth:`GroupCommit.run`); its result is what the caller gets back.  Rows handed
over by consecutive :meth:`~GroupCommit.write` callers are inserted with one ``executemany`` per
table (building and compiling an INSERT per row costs more than executing it, and that work
holds the GIL the event loop needs); a function sees every row handed over before it.

``immediate=True`` runs each group in :meth:`Database.write_transaction` (SQLite's write lock
taken up front), which work that reads before it writes — a ledger append — needs.
``executor`` gives the groups a thread of their own, so they never queue behind other work in
the default executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import lru_cache, partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from github_app.store.database import Database

Rows = Sequence[tuple[sa.Table, dict[str, Any]]]
Work = Any  # a function of the open connection, or a _Rows
T = TypeVar("T")
MAX_GROUP = 512


class GroupCommit:
    """Run concurrent callers' writes in shared transactions (one event loop)."""

    def __init__(
        self,
        db: Database,
        *,
        writers: int = 1,
        immediate: bool = False,
        executor: Executor | None = None,
    ) -> None:
        """``writers`` > 1 lets that many groups commit at once (callers' order is then lost:
        only for writes whose order does not matter, on a server that commits in parallel)."""
        self._db = db
        self._immediate = immediate
        self._executor = executor
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._max_writers = writers
        self.transactions = 0  # committed groups, for benchmarks and tests

    async def write(self, rows: Rows) -> None:
        """Insert ``rows`` (table, values) durably, in order, together with other callers'."""
        await self.run(_Rows(rows))

    async def insert_new(
        self, table: sa.Table, values: dict[str, Any], *, unique_on: Sequence[str]
    ) -> bool:
        """Insert one row unless a row with the same ``unique_on`` columns exists.

        Returns ``False`` for such a duplicate (nothing is written), ``True`` once the new row
        is durable.  Two callers with the same key in one group: the first one wins.
        """
        return await self.run(partial(insert_unless_present, table, values, unique_on))

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` inside a shared transaction; its result once committed."""
        return await self._submit(work)

    async def _submit(self, work: Work) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        # A writer that has just emptied the queue is done but still in the set until its
        # done-callback runs, which may be after this caller (woken by that very writer) comes
        # back with more work: count only the writers still running, or this work would wait
        # for ever.
        if sum(not writer.done() for writer in self._writers) < self._max_writers:
            writer = asyncio.create_task(self._drain())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                results = await self._in_thread([work for work, _ in group])
            except Exception as error:
                await self._one_by_one(group, error)
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _one_by_one(self, group: list, error: Exception) -> None:
        """A failed group is retried caller by caller, so one bad write fails only its caller."""
        if len(group) == 1:
            _, future = group[0]
            if not future.done():
                future.set_exception(error)
            return
        for work, future in group:
            try:
                (result,) = await self._in_thread([work])
            except Exception as single:
                if not future.done():
                    future.set_exception(single)
            else:
                if not future.done():
                    future.set_result(result)

    async def _in_thread(self, group: list[Work]) -> list[Any]:
        if self._executor is None:
            return await asyncio.to_thread(self._commit, group)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._commit, group)

    def _commit(self, group: list[Work]) -> list[Any]:
        begin = self._db.write_transaction if self._immediate else self._db.transaction
        with begin() as conn:
            results = _run_group(conn, group)
        self.transactions += 1
        return results


class _Rows:
    """Rows one :meth:`GroupCommit.write` caller handed over (inserted with their neighbours')."""

    __slots__ = ("rows",)

    def __init__(self, rows: Rows) -> None:
        self.rows = rows


def _run_group(conn: Connection, group: list[Work]) -> list[Any]:
    """Each caller's work in order; consecutive row writes as one executemany per table and
    column set."""
    results: list[Any] = []
    pending: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for work in group:
        if isinstance(work, _Rows):
            for table, values in work.rows:
                pending.setdefault((table, tuple(values)), []).append(values)
            results.append(None)
            continue
        _insert_pending(conn, pending)
        results.append(work(conn))
    _insert_pending(conn, pending)
    return results


def _insert_pending(
    conn: Connection, pending: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]]
) -> None:
    for (table, _columns), rows in pending.items():
        conn.execute(table.insert(), rows)
    pending.clear()


def insert_unless_present(
    table: sa.Table, values: dict[str, Any], unique_on: Sequence[str], conn: Connection
) -> bool:
    """``INSERT … ON CONFLICT (unique_on) DO NOTHING``; True when the row was inserted."""
    statement = _insert_ignoring(table, tuple(unique_on), tuple(values), conn.dialect.name)
    return conn.execute(statement, values).first() is not None


@lru_cache(maxsize=64)
def _insert_ignoring(
    table: sa.Table, unique_on: tuple[str, ...], columns: tuple[str, ...], dialect_name: str
) -> sa.Insert:
    # Built once per shape: building a statement costs more than executing it.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(table)
        .values({name: sa.bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=list(unique_on))
        .returning(*(table.c[name] for name in unique_on))  # a row back only when inserted
    )
