"""The group commit: a caller woken by a commit can hand over more work at once; consecutive
row writes share one executemany; functions see the rows handed over before them; an
``immediate`` group holds SQLite's write lock from its start."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa

from github_app.store import tables
from github_app.store.group_commit import GroupCommit
from tests.support.databases import database, database_url  # noqa: F401


def _row(path: str) -> dict:
    return {"method": "POST", "path": path, "status": 200, "at": datetime.now(UTC)}


def _paths(conn) -> list[str]:
    table = tables.access_log
    return list(conn.execute(sa.select(table.c.path).order_by(table.c.id)).scalars())


async def test_a_caller_woken_by_a_commit_can_write_again_at_once(database):  # noqa: F811
    writer = GroupCommit(database, executor=ThreadPoolExecutor(max_workers=1))

    async def twice() -> list[str]:
        # The second write is handed over while the writer that committed the first is done
        # but not yet forgotten; it used to wait for ever.
        await writer.write([(tables.access_log, _row("/first"))])
        await writer.write([(tables.access_log, _row("/second"))])
        return await writer.run(_paths)

    assert await asyncio.wait_for(twice(), timeout=30) == ["/first", "/second"]


async def test_rows_are_batched_and_a_function_sees_those_handed_over_before_it(
    database,  # noqa: F811
    monkeypatch,
):
    writer = GroupCommit(database, immediate=True)
    executions: list[int] = []
    real = GroupCommit._commit

    def counting(self, group):
        executions.append(len(group))
        return real(self, group)

    monkeypatch.setattr(GroupCommit, "_commit", counting)
    first = asyncio.create_task(writer.write([(tables.access_log, _row("/warm"))]))
    await asyncio.sleep(0)  # the first group is committing; the next callers queue behind it
    calls = [
        writer.write([(tables.access_log, _row(f"/a{n}")), (tables.access_log, _row(f"/b{n}"))])
        for n in range(3)
    ]
    seen = writer.run(_paths)
    *_, paths = await asyncio.gather(first, *calls, seen)
    assert executions == [1, 4], "three writers and a function shared one transaction"
    assert paths == ["/warm", "/a0", "/b0", "/a1", "/b1", "/a2", "/b2"]


async def test_a_failing_group_fails_only_the_failing_caller(database):  # noqa: F811
    writer = GroupCommit(database, immediate=True)
    first = asyncio.create_task(writer.write([(tables.access_log, _row("/warm"))]))
    await asyncio.sleep(0)

    def broken(_conn):
        raise RuntimeError("disk full")

    good = writer.write([(tables.access_log, _row("/kept"))])
    bad = writer.run(broken)
    results = await asyncio.gather(first, good, bad, return_exceptions=True)
    assert results[:2] == [None, None] and isinstance(results[2], RuntimeError)
    assert await writer.run(_paths) == ["/warm", "/kept"]
