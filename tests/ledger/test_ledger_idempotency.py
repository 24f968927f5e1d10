"""Ledger appends are idempotent per key, on both backends, even under concurrent appenders."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from github_app.store import tables
from github_app.store.ledger import Ledger
from tests.ledger.helpers import make_entry


def keyed(number: int, key: str):
    return make_entry(number).model_copy(update={"idempotency_key": key})


def test_an_effect_appended_twice_is_stored_once_and_the_stored_entry_returned(ledger: Ledger):
    first = ledger.append(keyed(1, "decision:7:3:0"))
    again = ledger.append(keyed(2, "decision:7:3:0"))
    assert again == first, "the second append returns the entry already stored"
    assert [entry.seq for entry in ledger.entries()] == [1]
    assert ledger.by_key("decision:7:3:0") == first
    assert ledger.verify().ok


def test_a_batch_writes_only_its_new_effects_and_keeps_the_chain_whole(ledger: Ledger):
    ledger.append(keyed(1, "a"))
    written = ledger.append_many([keyed(2, "a"), keyed(3, "b"), keyed(4, "b"), make_entry(5)])
    assert [entry.seq for entry in written] == [1, 2, 2, 3]
    assert len(list(ledger.entries())) == 3
    assert ledger.verify().ok


def test_entries_without_a_key_are_never_merged(ledger: Ledger):
    ledger.append(make_entry(1))
    ledger.append(make_entry(1))
    assert len(list(ledger.entries())) == 2


def test_the_key_is_not_part_of_the_hashed_entry(ledger: Ledger):
    plain = make_entry(1)
    sealed = ledger.append(plain.model_copy(update={"idempotency_key": "k"}))
    assert "idempotency_key" not in sealed.model_dump()
    assert sealed.computed_hash() == sealed.hash


def test_the_database_refuses_a_second_row_with_a_key(ledger: Ledger, database):
    ledger.append(keyed(1, "k"))
    row = {column.name: None for column in tables.ledger_entries.columns}
    stored = next(iter(ledger.entries()))
    row.update(stored.model_dump(), data="{}", seq=99, id="x", hash="f" * 64, idempotency_key="k")
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as conn:
        conn.execute(tables.ledger_entries.insert(), row)


def test_concurrent_appenders_of_one_effect_write_it_once(database, signer):
    ledgers = [Ledger(database, signer) for _ in range(4)]

    def append(index: int):
        return ledgers[index % 4].append(keyed(index, "merge:7:3"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(append, range(12)))
    assert len({entry.id for entry in results}) == 1
    assert len(list(ledgers[0].entries())) == 1
