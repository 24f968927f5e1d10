"""Intake group commit through ``POST /webhooks`` on both backends.

Concurrent deliveries share transactions, yet each 202 comes only once that delivery's row is
committed; a repeated delivery id is acknowledged and stored once; a delivery that cannot be
stored gets a 503 while the others of its group are stored and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import sqlalchemy as sa

from github_app.app_keys import SERVICES
from github_app.server.app import create_app
from github_app.store import tables
from github_app.webhooks import intake
from tests.support.app_harness import WEBHOOK_SECRET, harness_settings
from tests.support.databases import database_url  # noqa: F401
from tests.support.webhooks import signed_headers

BODY = json.dumps(
    {"action": "opened", "installation": {"id": 7}, "repository": {"id": 11}, "number": 1}
).encode()


@pytest.fixture
async def intake_client(aiohttp_client, app_private_key_pem, tmp_path, database_url):  # noqa: F811
    settings = harness_settings(tmp_path, app_private_key_pem, database_url=database_url)
    return await aiohttp_client(create_app(settings, start_worker=False))


def stored_ids(client) -> list[str]:
    table = tables.webhook_deliveries
    with client.app[SERVICES].db.connect() as conn:
        return list(conn.execute(sa.select(table.c.delivery_id)).scalars())


async def post(client, delivery_id: str):
    headers = signed_headers("pull_request", BODY, WEBHOOK_SECRET, delivery_id=delivery_id)
    return await client.post("/webhooks", data=BODY, headers=headers)


def slow_store(monkeypatch, *, fail_for=lambda delivery_id: False, delay=0.0):
    """Make the intake's write slow (inside the transaction) or fail for chosen deliveries.

    A group holding a failing delivery fails as a whole, as one multi-row statement would.
    """
    real = intake.store_deliveries

    def store(conn, rows):
        if any(fail_for(row["delivery_id"]) for row in rows):
            raise RuntimeError("disk full")
        inserted = real(conn, rows)
        time.sleep(delay)  # the transaction is still open: nothing is committed yet
        return inserted

    monkeypatch.setattr(intake, "store_deliveries", store)


async def test_concurrent_deliveries_share_transactions_and_are_durable_before_the_202(
    intake_client, monkeypatch
):
    slow_store(monkeypatch, delay=0.01)
    services = intake_client.app[SERVICES]
    ids = [str(uuid.uuid4()) for _ in range(40)]

    async def deliver_and_look(delivery_id: str) -> str | None:
        response = await post(intake_client, delivery_id)
        assert response.status == 202
        # Another connection must already see the row when the 202 arrives.
        return await asyncio.to_thread(services.inbox.status_of, delivery_id)

    statuses = await asyncio.gather(*(deliver_and_look(i) for i in ids))

    assert statuses == ["pending"] * len(ids)
    assert sorted(stored_ids(intake_client)) == sorted(ids)
    assert services.intake.transactions < len(ids) / 2, "deliveries did not share transactions"


async def test_a_repeated_delivery_id_is_acknowledged_and_stored_once(intake_client, monkeypatch):
    slow_store(monkeypatch, delay=0.01)
    delivery_id = str(uuid.uuid4())

    responses = await asyncio.gather(*(post(intake_client, delivery_id) for _ in range(6)))
    later = await post(intake_client, delivery_id)

    assert [r.status for r in responses] == [202] * 6
    statuses = sorted([(await r.json())["status"] for r in responses])
    assert statuses == ["accepted"] + ["duplicate"] * 5
    assert later.status == 202 and (await later.json())["status"] == "duplicate"
    assert stored_ids(intake_client) == [delivery_id]


async def test_a_delivery_that_cannot_be_stored_gets_503_and_only_that_one(
    intake_client, monkeypatch
):
    poison = "poison-" + str(uuid.uuid4())
    slow_store(monkeypatch, fail_for=lambda delivery_id: delivery_id == poison, delay=0.005)
    good = [str(uuid.uuid4()) for _ in range(12)]

    order = [*good[:6], poison, *good[6:]]
    responses = await asyncio.gather(*(post(intake_client, i) for i in order))

    statuses = [r.status for r in responses]
    assert statuses == [202] * 6 + [503] + [202] * 6
    assert "could not be stored" in (await responses[6].json())["error"]
    assert sorted(stored_ids(intake_client)) == sorted(good)


async def test_a_store_outage_fails_its_group_only(intake_client, monkeypatch):
    down = {"now": True}
    slow_store(monkeypatch, fail_for=lambda _delivery_id: down["now"])
    failed = [str(uuid.uuid4()) for _ in range(8)]

    during = await asyncio.gather(*(post(intake_client, i) for i in failed))
    down["now"] = False
    after = await asyncio.gather(*(post(intake_client, i) for i in [*failed[:2], "fresh"]))

    assert [r.status for r in during] == [503] * 8
    assert [r.status for r in after] == [202] * 3
    assert [(await r.json())["status"] for r in after] == ["accepted"] * 3
    assert sorted(stored_ids(intake_client)) == sorted([*failed[:2], "fresh"])


async def test_a_group_with_a_stored_id_and_new_ones_stores_only_the_new(
    intake_client, monkeypatch
):
    services = intake_client.app[SERVICES]
    old = str(uuid.uuid4())
    assert (await (await post(intake_client, old)).json())["status"] == "accepted"
    calls: list[list[str]] = []
    real = intake.store_deliveries

    def store(conn, rows):
        calls.append([row["delivery_id"] for row in rows])
        time.sleep(0.02)  # holds the group open while the others arrive
        return real(conn, rows)

    monkeypatch.setattr(intake, "store_deliveries", store)
    first = [str(uuid.uuid4())]
    new = [str(uuid.uuid4()) for _ in range(3)]
    order = [*first, old, new[0], old, new[1], new[2]]

    responses = await asyncio.gather(*(post(intake_client, i) for i in order))

    statuses = [(await r.json())["status"] for r in responses]
    assert [r.status for r in responses] == [202] * len(order)
    assert statuses == ["accepted", "duplicate", "accepted", "duplicate", "accepted", "accepted"]
    assert any(old in call and len(call) > 2 for call in calls), "old and new shared a statement"
    assert sorted(stored_ids(intake_client)) == sorted([old, *first, *new])
    assert services.inbox.status_of(old) == "pending"


async def test_a_dead_delivery_redelivered_within_a_group_is_due_again(intake_client):
    services = intake_client.app[SERVICES]
    dead, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    await post(intake_client, dead)
    table = tables.webhook_deliveries
    with services.db.transaction() as conn:
        conn.execute(
            table.update().where(table.c.delivery_id == dead).values(status="dead", attempts=16)
        )

    responses = await asyncio.gather(post(intake_client, fresh), post(intake_client, dead))

    assert [(await r.json())["status"] for r in responses] == ["accepted", "duplicate"]
    with services.db.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.delivery_id == dead)).mappings().one()
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert services.inbox.status_of(fresh) == "pending"
