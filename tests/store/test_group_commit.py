"""Group commit's building blocks on both backends: multi-row inserts that skip stored keys,
batched callers sharing one call, backlogs split in two, SQLite checkpoints kept off commits."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from github_app.store import Database
from github_app.store.group_commit import (
    CHECKPOINT_EVERY,
    SPLIT_ABOVE,
    GroupCommit,
    _next_group,
    insert_new_rows,
)
from github_app.store.tables import webhook_deliveries


def delivery(delivery_id: str, payload: bytes = b"{}") -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "delivery_id": delivery_id,
        "event": "pull_request",
        "payload": payload,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_at": now,
        "next_attempt_at": now,
    }


def stored(db: Database) -> list[str]:
    with db.connect() as conn:
        query = sa.select(webhook_deliveries.c.delivery_id).order_by("delivery_id")
        return list(conn.execute(query).scalars())


def test_one_statement_skips_stored_keys_and_keys_repeated_within_it(database):
    with database.transaction() as conn:
        insert_new_rows(webhook_deliveries, ("delivery_id",), conn, [delivery("old")])

    rows = [delivery("new-b"), delivery("old"), delivery("new-a"), delivery("new-b")]
    with database.transaction() as conn:
        result = insert_new_rows(webhook_deliveries, ("delivery_id",), conn, rows)

    assert result == [True, False, True, False]
    assert stored(database) == ["new-a", "new-b", "old"]


async def test_batched_callers_share_a_call_and_each_gets_its_own_result(database):
    calls: list[list[str]] = []

    def store_many(conn, rows):
        calls.append([row["delivery_id"] for row in rows])
        return insert_new_rows(webhook_deliveries, ("delivery_id",), conn, rows)

    writer = GroupCommit(database)
    ids = ["a", "b", "a", "c"]
    results = await asyncio.gather(*(writer.run_batched(store_many, delivery(i)) for i in ids))

    assert results == [True, True, False, True]
    assert calls == [ids], "the four callers shared one call in one group"
    assert writer.transactions == 1


async def test_a_caller_calling_again_as_soon_as_it_is_answered_is_not_forgotten(database):
    writer = GroupCommit(database)
    async with asyncio.timeout(10):  # in this task: a fresh task per call would hide the race
        for n in range(3):
            assert await writer.insert_new(
                webhook_deliveries, delivery(f"again-{n}"), unique_on=["delivery_id"]
            )
    assert writer.transactions == 3


@pytest.mark.parametrize(
    ("waiting", "taken"),
    [(1, 1), (SPLIT_ABOVE, SPLIT_ABOVE), (SPLIT_ABOVE + 1, (SPLIT_ABOVE + 2) // 2), (50, 25)],
)
def test_a_large_backlog_is_committed_as_two_groups(waiting, taken):
    assert _next_group(waiting) == taken


def sqlite_db(tmp_path: Path) -> Database:
    db = Database.open(f"sqlite:///{tmp_path / 'wal.db'}")
    db.migrate()
    return db


def write_megabytes(db: Database, begin, megabytes: int) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB that does not compress away
    with begin() as conn:
        rows = [delivery(f"d{n}", payload) for n in range(megabytes)]
        insert_new_rows(webhook_deliveries, ("delivery_id",), conn, rows)


def test_a_commit_checkpointed_later_leaves_the_database_file_to_the_checkpoint(tmp_path):
    db = sqlite_db(tmp_path)
    file = tmp_path / "wal.db"
    before = file.stat().st_size

    write_megabytes(db, db.transaction_checkpointed_later, 6)  # > 1,000 WAL pages

    assert file.stat().st_size < before + 1_000_000, "the commit checkpointed"
    assert len(stored(db)) == 6, "committed all the same"
    db.checkpoint()
    assert file.stat().st_size > before + 6_000_000
    with db.connect() as conn:  # the pooled connection checkpoints again for everyone else
        pages = conn.connection.dbapi_connection.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert pages == (1000,)
    db.dispose()


def test_an_ordinary_commit_still_checkpoints(tmp_path):
    db = sqlite_db(tmp_path)
    file = tmp_path / "wal.db"
    before = file.stat().st_size

    write_megabytes(db, db.transaction, 6)

    assert file.stat().st_size > before + 6_000_000
    db.dispose()


async def test_group_commit_checkpoints_in_the_background(tmp_path):
    db = sqlite_db(tmp_path)
    file = tmp_path / "wal.db"
    writer = GroupCommit(db, checkpoint_later=True)
    payload = bytes(range(256)) * 4096

    for n in range(CHECKPOINT_EVERY):
        assert await writer.insert_new(
            webhook_deliveries, delivery(f"g{n}", payload), unique_on=["delivery_id"]
        )
    while writer._checkpointer is not None:
        await asyncio.sleep(0.01)

    assert file.stat().st_size > CHECKPOINT_EVERY * 1_000_000
    db.dispose()
