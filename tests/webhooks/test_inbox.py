"""The inbox on both backends: store once, lease, retry with backoff, recover after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from github_app.store import tables
from github_app.webhooks.inbox import LEASE, MAX_ATTEMPTS, Inbox, backoff
from github_app.webhooks.worker import Worker
from tests.support.databases import database, database_url  # noqa: F401


def make_due(inbox_db, delivery_id: str) -> None:
    """Move a delivery's retry time and lease into the past, as time passing would."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with inbox_db.transaction() as conn:
        conn.execute(
            tables.webhook_deliveries.update()
            .where(tables.webhook_deliveries.c.delivery_id == delivery_id)
            .values(next_attempt_at=past, locked_until=past)
        )


def test_a_delivery_is_stored_once(database):  # noqa: F811
    inbox = Inbox(database)
    assert inbox.store("d1", "push", None, 7, b"{}") is True
    assert inbox.store("d1", "push", None, 7, b"{}") is False
    assert inbox.pending_count() == 1


def test_a_claimed_delivery_is_leased_to_one_worker(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    [claimed] = inbox.claim()
    assert (claimed.delivery_id, claimed.attempts) == ("d1", 1)
    assert inbox.claim() == [], "a leased delivery is not handed out twice"


def test_a_crash_mid_processing_is_recovered_when_the_lease_expires(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    inbox.claim()  # the process dies here, before mark_done
    make_due(database, "d1")
    [again] = Inbox(database).claim()  # a new process
    assert (again.delivery_id, again.attempts) == ("d1", 2)


def test_failures_back_off_then_park_the_delivery_as_dead(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    statuses = []
    for _ in range(MAX_ATTEMPTS):
        make_due(database, "d1")
        [delivery] = inbox.claim()
        statuses.append(inbox.mark_failed(delivery, "GitHub said 502"))
    assert statuses == ["failed"] * (MAX_ATTEMPTS - 1) + ["dead"]
    make_due(database, "d1")
    assert inbox.claim() == [], "a dead delivery waits for a human"
    with database.connect() as conn:
        error = conn.execute(sa.select(tables.webhook_deliveries.c.last_error)).scalar_one()
    assert error == "GitHub said 502"
    assert backoff(1) < backoff(2) < backoff(30) == timedelta(hours=1)
    total = sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert total > timedelta(hours=6), "retries outlast an outage or a rate-limit window"


async def test_the_worker_processes_in_order_and_marks_done(database):  # noqa: F811
    inbox = Inbox(database)
    for number in range(3):
        inbox.store(f"d{number}", "push", None, 7, b'{"repository": {"id": 1}}', repo_id=1)
    seen: list[str] = []

    async def process(delivery) -> None:
        seen.append(delivery.delivery_id)

    assert await Worker(inbox, process).drain() == 3
    assert seen == ["d0", "d1", "d2"]
    assert {inbox.status_of(f"d{n}") for n in range(3)} == {"done"}


def test_redelivering_a_dead_delivery_queues_it_again(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    for _ in range(MAX_ATTEMPTS):
        make_due(database, "d1")
        [delivery] = inbox.claim()
        inbox.mark_failed(delivery, "GitHub said 502")
    assert inbox.status_of("d1") == "dead"
    assert inbox.store("d1", "push", None, 7, b"{}") is False, "still acknowledged as a duplicate"
    assert inbox.status_of("d1") == "pending"
    [again] = inbox.claim()
    assert again.attempts == 1


def test_a_duplicate_of_a_done_delivery_is_not_processed_again(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    [delivery] = inbox.claim()
    inbox.mark_done(delivery.delivery_id)
    inbox.store("d1", "push", None, 7, b"{}")
    assert inbox.status_of("d1") == "done"
    assert inbox.claim() == []


async def test_intake_keeps_the_repository_and_the_payload_hash_for_the_ledger(app_harness):
    """Hashed and keyed once at intake: the ledger cites the hash of the bytes GitHub sent."""
    import hashlib
    import json

    from tests.support.pr_scenario import PullRequestScenario

    scenario = PullRequestScenario(app_harness.github)
    payload = scenario.event("opened")
    body = json.dumps(payload).encode()
    response = await app_harness.deliver("pull_request", body, delivery_id="d-keys")
    assert response.status == 202
    with app_harness.services.db.connect() as conn:
        row = (
            conn.execute(
                sa.select(tables.webhook_deliveries).where(
                    tables.webhook_deliveries.c.delivery_id == "d-keys"
                )
            )
            .mappings()
            .one()
        )
    assert row["repo_id"] == payload["repository"]["id"]
    assert row["payload_sha256"] == hashlib.sha256(body).hexdigest()
    await app_harness.drain()
    entries = list(app_harness.services.ledger.entries())
    assert entries, "the delivery was processed"
    assert {(e.delivery_id, e.payload_sha256) for e in entries} == {
        ("d-keys", hashlib.sha256(body).hexdigest())
    }


def locked_by(db, delivery_id: str) -> str | None:
    table = tables.webhook_deliveries
    with db.connect() as conn:
        return conn.execute(
            sa.select(table.c.locked_by).where(table.c.delivery_id == delivery_id)
        ).scalar_one()


def test_a_claim_names_the_replica_and_a_restart_takes_its_leases_back_at_once(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    inbox.store("d2", "push", None, 7, b"{}")
    assert {d.delivery_id for d in inbox.claim(replica="host:3001")} == {"d1", "d2"}
    assert locked_by(database, "d1") == "host:3001"
    assert inbox.claim(replica="host:3002") == [], "leased: another replica waits"
    # host:3001 is killed and restarted: it releases what it held, without waiting.
    assert Inbox(database).release_leases_of("host:3002") == 0
    assert Inbox(database).release_leases_of("host:3001") == 2
    again = Inbox(database).claim(replica="host:3001")
    assert sorted((d.delivery_id, d.attempts) for d in again) == [("d1", 2), ("d2", 2)]


def test_a_heartbeat_renews_only_the_leases_the_replica_holds(database):  # noqa: F811
    inbox = Inbox(database)
    inbox.store("d1", "push", None, 7, b"{}")
    inbox.claim(replica="a")
    assert inbox.renew(["d1"], "a") == 1
    assert inbox.renew(["d1"], "b") == 0
    table = tables.webhook_deliveries
    with database.connect() as conn:
        until = conn.execute(sa.select(table.c.locked_until)).scalar_one()
    assert until - datetime.now(UTC) <= LEASE, "leases are short; the heartbeat extends them"


def test_claims_while_deliveries_arrive_never_fail_with_a_locked_database(database):  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    inbox = Inbox(database)
    claimed: list[str] = []

    def arrive(index: int) -> None:
        inbox.store(f"d{index}", "push", None, 7, b"{}")

    def claim(_index: int) -> None:
        claimed.extend(d.delivery_id for d in inbox.claim(5, replica="r"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(arrive, i) for i in range(60)]
        jobs += [pool.submit(claim, i) for i in range(60)]
        for job in jobs:
            job.result()  # raises if any claim hit "database is locked"
    claimed.extend(d.delivery_id for d in inbox.claim(100, replica="r"))
    assert sorted(claimed) == sorted(f"d{i}" for i in range(60)), "each claimed exactly once"
