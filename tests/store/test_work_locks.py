"""Work locks and upserts on both backends: one holder per key, across replicas (PostgreSQL)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from github_app.state.decisions import CommitCheck, DecisionState, PrRecord
from github_app.state.locks import WorkLocks, lock_key
from github_app.store import Database


async def overlap_of(locks: list[WorkLocks], key: tuple, workers: int = 6) -> int:
    """Run ``workers`` tasks that each hold ``key`` briefly; the most ever inside at once."""
    inside = 0
    most = 0

    async def work(index: int) -> None:
        nonlocal inside, most
        async with locks[index % len(locks)].hold(*key):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(work(index) for index in range(workers)))
    return most


async def test_one_holder_per_key_in_a_process(database: Database):
    assert await overlap_of([WorkLocks(database)], ("pr", 1, 2)) == 1


async def test_one_holder_per_key_across_replicas_on_postgresql(postgres_url: str):
    replicas = [Database.open(postgres_url) for _ in range(3)]
    try:
        replicas[0].migrate()
        locks = [WorkLocks(db) for db in replicas]
        assert await overlap_of(locks, ("pr", 1, 2)) == 1
        assert await overlap_of(locks, ("commit", 1, "abc"), workers=4) == 1
    finally:
        for db in replicas:
            db.dispose()


async def test_different_keys_do_not_wait_for_each_other(database: Database):
    locks = WorkLocks(database)
    async with locks.hold("pr", 1, 1):
        await asyncio.wait_for(_enter(locks, ("pr", 1, 2)), timeout=5)


async def _enter(locks: WorkLocks, key: tuple) -> None:
    async with locks.hold(*key):
        pass


async def test_try_hold_skips_when_another_replica_holds_the_job(postgres_url: str):
    first, second = Database.open(postgres_url), Database.open(postgres_url)
    try:
        async with WorkLocks(first).try_hold("job", "sweep") as taken:
            assert taken
            async with WorkLocks(second).try_hold("job", "sweep") as also:
                assert not also, "a second replica does not sweep at the same time"
        async with WorkLocks(second).try_hold("job", "sweep") as after:
            assert after, "released when the first replica finished"
    finally:
        first.dispose()
        second.dispose()


def test_lock_keys_are_stable_64_bit_and_per_schema():
    key = lock_key("s1", "pr", 1, 2)
    assert key == lock_key("s1", "pr", 1, 2)
    assert -(2**63) <= key < 2**63
    assert key != lock_key("s2", "pr", 1, 2) != lock_key("s1", "pr", 1, 3)


def test_decision_upserts_never_collide_under_concurrency(database: Database):
    state = DecisionState(database)

    def put(index: int) -> None:
        state.put(PrRecord(7, 3, f"{index:040x}", "pending", version=index))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(put, range(30)))
    record = state.get(7, 3)
    assert record is not None and record.head_sha == f"{record.version:040x}"


def test_decisions_remember_order_openness_and_the_commit_check(database: Database):
    state = DecisionState(database)
    seen = datetime(2026, 11, 20, 10, tzinfo=UTC)
    body = {"conclusion": "failure", "output": {"title": "t", "summary": "s"}}
    state.put(PrRecord(7, 1, "x" * 40, "blocked", source_updated_at=seen, check_body=body))
    state.put(PrRecord(7, 2, "x" * 40, "not_agent", is_open=False))
    [record] = state.open_on_commit(7, "x" * 40)
    assert (record.pr, record.source_updated_at, record.check_body) == (1, seen, body)
    state.put_check(CommitCheck(7, "x" * 40, None, None, 1))
    state.put_check(CommitCheck(7, "x" * 40, 55, "failure", 1))
    assert state.check_of(7, "x" * 40) == CommitCheck(7, "x" * 40, 55, "failure", 1)


def test_a_busy_database_is_told_from_a_real_failure(database: Database):
    import sqlite3

    import sqlalchemy as sa

    from github_app.store.database import is_contention

    locked = sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert is_contention(locked)

    class SerializationFailure(Exception):
        sqlstate = "40001"

    assert is_contention(sa.exc.OperationalError("UPDATE", {}, SerializationFailure()))
    with database.connect() as conn:
        try:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
        except sa.exc.DBAPIError as error:
            assert not is_contention(error), "a real error is not retried quietly"
        else:
            raise AssertionError("expected an error")
    assert not is_contention(ValueError("database is locked"))
