"""A rule suite's claim and its ledger entry are written together or not at all (both stores)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from github_app.jobs.denials import claim_and_append
from github_app.ledger import NewEntry
from github_app.state import cursors
from github_app.store.ledger import Ledger
from github_app.store.tables import sync_cursors
from tests.support.databases import database, database_url  # noqa: F401

CLAIM = "rule_suite:186853002:25"


def denied_entry() -> NewEntry:
    return NewEntry(
        kind="push_denied",
        occurred_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        repo="Codertocat/Hello-World",
        repo_id=186853002,
        data={"rule_suite_id": 25},
    )


def recorded(ledger: Ledger) -> list:
    return list(ledger.entries(kinds=["push_denied"]))


def claim_rows(db) -> int:
    query = sa.select(sa.func.count()).select_from(sync_cursors)
    with db.connect() as conn:
        return conn.execute(query.where(sync_cursors.c.name == CLAIM)).scalar_one()


class AppendFails(Exception):
    """The ledger append broke (disk full, connection lost, process killed...)."""


def test_a_failed_append_leaves_no_claim_and_the_retry_records_once(database, monkeypatch):  # noqa: F811
    ledger = Ledger(database, None)

    real_append, failed = ledger.append_many, []

    def fail_once(entries, *, conn=None):
        assert conn is not None, "the append must join the claim's transaction"
        if not failed:
            failed.append(True)
            raise AppendFails
        return real_append(entries, conn=conn)

    monkeypatch.setattr(ledger, "append_many", fail_once)
    with pytest.raises(AppendFails):
        claim_and_append(database, ledger, CLAIM, "t", denied_entry())
    assert claim_rows(database) == 0 and recorded(ledger) == []

    assert claim_and_append(database, ledger, CLAIM, "t", denied_entry()) is True
    assert claim_and_append(database, ledger, CLAIM, "t", denied_entry()) is False
    assert claim_rows(database) == 1 and len(recorded(ledger)) == 1
    assert cursors.read(database, CLAIM) == "t"
    assert ledger.verify().ok


def test_concurrent_claims_record_the_suite_exactly_once(database):  # noqa: F811
    ledger = Ledger(database, None)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(
            pool.map(
                lambda _: claim_and_append(database, ledger, CLAIM, "t", denied_entry()), range(4)
            )
        )
    assert sorted(outcomes) == [False, False, False, True]
    assert len(recorded(ledger)) == 1
