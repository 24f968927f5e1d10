"""Group commit: many small durable writes share one transaction (one fsync).

With SQLite in ``synchronous=FULL`` every commit waits for the disk, so fifty agents each
inserting one row would queue fifty fsyncs.  :class:`GroupCommit` lets concurrent callers hand
over their writes and wait: whatever arrived while the previous transaction was committing is
written together in the next one, and each caller returns only once its writes are durable (or
gets the error).  Nothing is acknowledged before it is on disk, and nothing waits for a timer.

A caller hands over either rows to insert (:meth:`GroupCommit.write`), a row that may already
exist (:meth:`GroupCommit.insert_new`, which says whether it was new), any function of the open
connection (:meth:`GroupCommit.run`), or one item for a function that handles many at once
(:meth:`GroupCommit.run_batched`); its result is what the caller gets back.  Batched callers
that follow each other in a group share one call, so a group of rows costs one multi-row
statement (one round trip, one pass through SQLAlchemy) instead of one per row: per-row
statements were most of a group's time (about 0.2 ms of Python each for a 24 KiB delivery on
SQLite, a round trip each on PostgreSQL).  Rows handed over by consecutive
:meth:`~GroupCommit.write` callers are inserted the same way, one ``executemany`` per table and
column set (building and compiling an INSERT per row costs more than executing it, and that work
holds the GIL the event loop needs).

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
from itertools import groupby
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from github_app.logs import get_logger
from github_app.store.database import Database

log = get_logger(__name__)

Rows = Sequence[tuple[sa.Table, dict[str, Any]]]
Work = Callable[[Connection], Any]
# Handles many callers' items in one go: one result per item, in order.
ManyWork = Callable[[Connection, list[Any]], list[Any]]
T = TypeVar("T")
MAX_GROUP = 512
SPLIT_ABOVE = 16  # a backlog larger than this is committed as two groups, see _next_group
CHECKPOINT_EVERY = 8  # groups committed between two background WAL checkpoints (SQLite)


class GroupCommit:
    """Run concurrent callers' writes in shared transactions (one event loop)."""

    def __init__(
        self,
        db: Database,
        *,
        writers: int = 1,
        checkpoint_later: bool = False,
        immediate: bool = False,
        executor: Executor | None = None,
    ) -> None:
        """``writers`` > 1 lets that many groups commit at once (callers' order is then lost:
        only for writes whose order does not matter, on a server that commits in parallel).

        ``checkpoint_later``: on SQLite, commits skip the WAL checkpoint and one runs in the
        background every ``CHECKPOINT_EVERY`` groups instead, so no caller waits for one (see
        :meth:`Database.transaction_checkpointed_later`); ``immediate`` and ``executor``: see
        the module docstring (``immediate`` wins over ``checkpoint_later``)."""
        self._db = db
        self._immediate = immediate
        self._executor = executor
        self._checkpoint_later = checkpoint_later and db.dialect == "sqlite"
        self._checkpointer: asyncio.Task[None] | None = None
        self._since_checkpoint = 0
        self._waiting: list[tuple[ManyWork, Any, asyncio.Future[Any]]] = []
        self._writers: set[asyncio.Task[None]] = set()  # strong references to running tasks
        self._draining = 0  # writers that will still look at _waiting before they stop
        self._max_writers = writers
        self.transactions = 0  # committed groups, for benchmarks and tests

    async def write(self, rows: Rows) -> None:
        """Insert ``rows`` (table, values) durably, in order, together with other callers'."""
        await self.run_batched(_insert_row_sets, rows)

    async def insert_new(
        self, table: sa.Table, values: dict[str, Any], *, unique_on: Sequence[str]
    ) -> bool:
        """Insert one row unless a row with the same ``unique_on`` columns exists.

        Returns ``False`` for such a duplicate (nothing is written), ``True`` once the new row
        is durable.  Two callers with the same key in one group: the first one wins.
        """
        return await self.run_batched(_inserter(table, tuple(unique_on)), values)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` inside a shared transaction; its result once committed."""
        return await self.run_batched(_each, work)

    async def run_batched(self, work_many: ManyWork, item: Any) -> Any:
        """Hand ``item`` to ``work_many(connection, items)`` inside a shared transaction.

        Callers handing the same ``work_many`` one after the other in a group share one call;
        each gets its own item's result once the transaction is committed.  ``work_many`` must
        be the same object each time (a module-level function) for callers to share a call.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work_many, item, future))
        if self._draining < self._max_writers:
            self._draining += 1
            writer = asyncio.create_task(self._drain())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _drain(self) -> None:
        # The count drops in the same step as the last look at _waiting: a writer's task is
        # only discarded from _writers a step later, and a caller arriving in between (woken
        # by the group just committed) would otherwise find a writer that will never drain it.
        try:
            await self._drain_waiting()
        finally:
            self._draining -= 1

    async def _drain_waiting(self) -> None:
        while self._waiting:
            size = _next_group(len(self._waiting))
            group, self._waiting = self._waiting[:size], self._waiting[size:]
            try:
                results = await self._in_thread(group)
            except Exception as error:
                await self._one_by_one(group, error)
                continue
            for (_, _, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
            self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        if not self._checkpoint_later:
            return
        self._since_checkpoint += 1
        if self._since_checkpoint < CHECKPOINT_EVERY or self._checkpointer is not None:
            return
        self._since_checkpoint = 0
        self._checkpointer = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(self._db.checkpoint)
        except Exception as error:  # the next one catches up; commits stay durable anyway
            log.warning("wal_checkpoint_failed", error=str(error))
        finally:
            self._checkpointer = None

    async def _one_by_one(self, group: list, error: Exception) -> None:
        """A failed group is retried caller by caller, so one bad write fails only its caller."""
        if len(group) == 1:
            _, _, future = group[0]
            if not future.done():
                future.set_exception(error)
            return
        for entry in group:
            future = entry[2]
            try:
                (result,) = await self._in_thread([entry])
            except Exception as single:
                if not future.done():
                    future.set_exception(single)
            else:
                if not future.done():
                    future.set_result(result)

    async def _in_thread(self, group: list[tuple[ManyWork, Any, Any]]) -> list[Any]:
        if self._executor is None:
            return await asyncio.to_thread(self._commit, group)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._commit, group)

    def _commit(self, group: list[tuple[ManyWork, Any, Any]]) -> list[Any]:
        results: list[Any] = []
        db = self._db
        if self._immediate:
            begin = db.write_transaction
        elif self._checkpoint_later:
            begin = db.transaction_checkpointed_later
        else:
            begin = db.transaction
        with begin() as conn:
            for work_many, run in groupby(group, key=lambda entry: entry[0]):
                items = [item for _, item, _ in run]
                done = work_many(conn, items)
                if len(done) != len(items):
                    raise RuntimeError(f"{work_many!r}: {len(done)} results for {len(items)}")
                results.extend(done)
        self.transactions += 1
        return results


def _next_group(waiting: int) -> int:
    """How many of ``waiting`` callers the next group takes: half of a large backlog.

    Taking everyone makes a closed loop of senders move in lock-step: all of them wait for one
    commit, then the event loop answers all of them and parses all their next requests while
    the disk idles.  Half a backlog leaves the other half as the next group, ready to commit
    while the event loop answers the first: the disk and the loop overlap, for one more commit.
    """
    if waiting <= SPLIT_ABOVE:
        return waiting
    return min(MAX_GROUP, (waiting + 1) // 2)


def _each(conn: Connection, works: list[Work]) -> list[Any]:
    return [work(conn) for work in works]


def _insert_row_sets(conn: Connection, row_sets: list[Rows]) -> list[None]:
    """Every caller's rows, one ``executemany`` per table and column set (in first-seen order:
    the rows of one transaction need no order among themselves)."""
    by_shape: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for rows in row_sets:
        for table, values in rows:
            by_shape.setdefault((table, tuple(values)), []).append(values)
    for (table, _columns), values in by_shape.items():
        conn.execute(table.insert(), values)
    return [None] * len(row_sets)


def insert_new_rows(
    table: sa.Table, unique_on: tuple[str, ...], conn: Connection, rows: list[dict[str, Any]]
) -> list[bool]:
    """Insert those of ``rows`` whose ``unique_on`` key is not stored yet, in one statement.

    One result per row: ``True`` when it was inserted.  A key repeated among ``rows``: the first
    row with it wins, the others are ``False``.  Rows must all have the same columns.
    """
    keys = [tuple(row[name] for name in unique_on) for row in rows]
    first: dict[tuple[Any, ...], int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    # In key order: concurrent transactions (PostgreSQL) then wait for each other's keys in
    # the same order and cannot deadlock.
    ordered = [rows[first[key]] for key in sorted(first)]
    statement = _insert_ignoring(table, unique_on, tuple(rows[0]), conn.dialect.name)
    returned = conn.execute(statement, ordered if len(ordered) > 1 else ordered[0])
    inserted = {tuple(row) for row in returned}
    return [first[key] == index and key in inserted for index, key in enumerate(keys)]


def _inserter(table: sa.Table, unique_on: tuple[str, ...]) -> ManyWork:
    return _INSERTERS.setdefault((table, unique_on), partial(insert_new_rows, table, unique_on))


_INSERTERS: dict[tuple[sa.Table, tuple[str, ...]], ManyWork] = {}


@lru_cache(maxsize=64)
def _insert_ignoring(
    table: sa.Table, unique_on: tuple[str, ...], columns: tuple[str, ...], dialect_name: str
) -> sa.Insert:
    # Built once per shape: building a statement costs more than executing it.  Executed with
    # a list of rows, SQLAlchemy renders one multi-row INSERT (its "insertmanyvalues").
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(table)
        .values({name: sa.bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=list(unique_on))
        .returning(*(table.c[name] for name in unique_on))  # a row back only when inserted
    )
