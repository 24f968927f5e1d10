"""Appending and reading the ledger, on SQLite and on real PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from github_app.ledger import GENESIS_HASH, LedgerEntry
from github_app.store import Database
from github_app.store.ledger import Ledger
from github_app.store.tables import ledger_entries
from tests.ledger.helpers import START, make_entry


def test_first_append_starts_the_chain(ledger: Ledger) -> None:
    entry = ledger.append(make_entry(0))
    assert entry.seq == 1
    assert entry.prev_hash == GENESIS_HASH
    assert entry.hash == entry.computed_hash()
    assert entry.recorded_at == START  # the ledger's clock
    assert ledger.head() == entry


def test_appends_link_each_entry_to_the_previous_one(ledger: Ledger) -> None:
    first = ledger.append(make_entry(0))
    more = ledger.append_many([make_entry(1), make_entry(2)])
    last = ledger.append(make_entry(3))
    chain = [first, *more, last]
    assert [entry.seq for entry in chain] == [1, 2, 3, 4]
    for previous, entry in itertools.pairwise(chain):
        assert entry.prev_hash == previous.hash
    assert len({entry.id for entry in chain}) == 4


def test_stored_entries_read_back_identical(ledger: Ledger) -> None:
    written = ledger.append_many(make_entry(number) for number in range(6))
    assert list(ledger.entries()) == written
    assert ledger.get(4) == written[3]
    assert ledger.get(99) is None
    for entry in ledger.entries():
        assert entry.computed_hash() == entry.hash


def test_empty_ledger(ledger: Ledger) -> None:
    assert ledger.head() is None
    assert list(ledger.entries()) == []
    assert ledger.append_many([]) == []
    report = ledger.verify()
    assert report.ok and report.entries_checked == 0


def test_append_in_a_rolled_back_transaction_leaves_nothing(
    ledger: Ledger, database: Database
) -> None:
    ledger.append(make_entry(0))
    with pytest.raises(RuntimeError), database.write_transaction() as conn:
        ledger.append_many([make_entry(1), make_entry(2)], conn=conn)
        raise RuntimeError("the surrounding unit of work failed")
    assert [entry.seq for entry in ledger.entries()] == [1]
    assert ledger.append(make_entry(3)).seq == 2


def test_append_joins_the_callers_transaction(ledger: Ledger, database: Database) -> None:
    with database.write_transaction() as conn:
        entry = ledger.append(make_entry(0), conn=conn)
        visible_inside = conn.execute(sa.select(sa.func.count()).select_from(ledger_entries))
        assert visible_inside.scalar() == 1
    assert ledger.get(1) == entry


def test_filters_select_the_matching_entries(ledger: Ledger) -> None:
    written = ledger.append_many(make_entry(number) for number in range(30))

    def seqs(**filters: object) -> list[int]:
        return [entry.seq for entry in ledger.entries(**filters)]  # type: ignore[arg-type]

    def expected(keep: Callable[[LedgerEntry], bool]) -> list[int]:
        return [entry.seq for entry in written if keep(entry)]

    assert seqs(session_id="session-1") == expected(lambda e: e.session_id == "session-1")
    assert seqs(repo="acme/repo-0") == expected(lambda e: e.repo == "acme/repo-0")
    assert seqs(agent="copilot") == expected(lambda e: e.agent == "copilot")
    assert seqs(kinds=["merge", "direct_push"]) == expected(
        lambda e: e.kind in ("merge", "direct_push")
    )
    since, until = START + timedelta(minutes=5), START + timedelta(minutes=12)
    assert seqs(since=since, until=until) == expected(lambda e: since <= e.occurred_at < until)
    assert seqs(repo="acme/repo-1", kinds=["merge"], since=since) == expected(
        lambda e: e.repo == "acme/repo-1" and e.kind == "merge" and e.occurred_at >= since
    )
    assert seqs(session_id="nobody") == []


def test_pagination_streams_in_batches(ledger: Ledger) -> None:
    ledger.append_many(make_entry(number) for number in range(25))
    assert [e.seq for e in ledger.entries(batch_size=4)] == list(range(1, 26))
    assert [e.seq for e in ledger.entries(after_seq=20, batch_size=3)] == [21, 22, 23, 24, 25]
    assert [e.seq for e in ledger.entries(limit=7, batch_size=3)] == list(range(1, 8))
    page = [e.seq for e in ledger.entries(session_id="session-2", after_seq=10, limit=3)]
    assert page == [12, 15, 18]


def test_entries_read_lazily(ledger: Ledger) -> None:
    ledger.append_many(make_entry(number) for number in range(5))
    stream = ledger.entries(batch_size=2)
    assert next(stream).seq == 1
    ledger.append(make_entry(5))  # appended after the stream started: still seen
    assert [entry.seq for entry in stream] == [2, 3, 4, 5, 6]


def _append_concurrently(ledgers: list[Ledger], threads_per_ledger: int, each: int) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(len(ledgers) * threads_per_ledger)

    def work(ledger: Ledger, worker: int) -> None:
        try:
            start.wait()
            for number in range(each):
                if number % 3 == 0:
                    ledger.append_many([make_entry(worker * 100 + number)] * 2)
                else:
                    ledger.append(make_entry(worker * 100 + number))
        except BaseException as error:  # surfaced below
            errors.append(error)

    workers = [
        threading.Thread(target=work, args=(ledger, index * threads_per_ledger + thread))
        for index, ledger in enumerate(ledgers)
        for thread in range(threads_per_ledger)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


def test_concurrent_appenders_on_one_pool_keep_one_valid_chain(ledger: Ledger) -> None:
    _append_concurrently([ledger], threads_per_ledger=4, each=12)
    report = ledger.verify()
    assert report.ok, report.problem
    assert report.entries_checked == 4 * (12 + 4)  # every third call appends two


def test_concurrent_appenders_on_separate_engines_keep_one_valid_chain(
    database_url: str, ledger: Ledger
) -> None:
    # Two engines behave like two replicas: nothing is shared but the database.
    with Database.open(database_url) as first, Database.open(database_url) as second:
        _append_concurrently([Ledger(first, None), Ledger(second, None)], 3, 10)
    report = ledger.verify()
    assert report.ok, report.problem
    assert report.entries_checked == 6 * (10 + 4)
    assert [entry.seq for entry in ledger.entries()] == list(range(1, 6 * 14 + 1))
