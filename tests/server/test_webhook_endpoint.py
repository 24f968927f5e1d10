"""POST /webhooks: signatures, malformed bodies, unknown events, duplicates, durability."""

from __future__ import annotations

import json

import sqlalchemy as sa

from github_app.store import tables
from tests.support.webhooks import load_payload, signed_headers


def stored_count(harness) -> int:
    with harness.services.db.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(tables.webhook_deliveries)
        ).scalar_one()


async def test_bad_signature_is_refused_and_nothing_stored(app_harness):
    response = await app_harness.deliver(
        "pull_request", load_payload("pull_request", "opened.payload"), secret="wrong-secret"
    )
    assert response.status == 401
    assert "signature" in (await response.json())["error"]
    assert stored_count(app_harness) == 0


async def test_missing_signature_is_refused(app_harness):
    body = b'{"action": "opened"}'
    headers = signed_headers("pull_request", body, "x")
    del headers["X-Hub-Signature-256"]
    response = await app_harness.client.post("/webhooks", data=body, headers=headers)
    assert response.status == 401
    assert stored_count(app_harness) == 0


async def test_sha1_signature_alone_is_refused(app_harness):
    body = b'{"action": "opened"}'
    headers = signed_headers("pull_request", body, "x")
    headers["X-Hub-Signature-256"] = "sha1=" + "0" * 40
    response = await app_harness.client.post("/webhooks", data=body, headers=headers)
    assert response.status == 401


async def test_malformed_json_is_a_400_and_nothing_stored(app_harness):
    response = await app_harness.deliver("pull_request", b"{not json")
    assert response.status == 400
    assert stored_count(app_harness) == 0


async def test_json_that_is_not_an_object_is_a_400(app_harness):
    response = await app_harness.deliver("pull_request", b"[1, 2]")
    assert response.status == 400


async def test_unknown_event_is_acknowledged_but_not_stored(app_harness):
    response = await app_harness.deliver("star", {"action": "created"})
    assert response.status == 200
    assert (await response.json())["status"] == "ignored"
    assert stored_count(app_harness) == 0


async def test_ping_answers_pong(app_harness):
    response = await app_harness.deliver("ping", load_payload("ping", "payload"))
    assert response.status == 200
    assert (await response.json())["status"] == "pong"


async def test_body_over_the_limit_is_refused(app_harness):
    limit = app_harness.services.settings.countersign_max_body_bytes
    response = await app_harness.deliver("push", b"{" + b" " * limit + b"}")
    assert response.status == 413
    assert stored_count(app_harness) == 0


async def test_delivery_is_stored_before_the_202(app_harness):
    payload = load_payload("pull_request", "opened.payload")
    response = await app_harness.deliver("pull_request", payload, delivery_id="d-1")
    assert response.status == 202
    assert app_harness.services.inbox.status_of("d-1") == "pending"
    with app_harness.services.db.connect() as conn:
        stored = conn.execute(sa.select(tables.webhook_deliveries.c.payload)).scalar_one()
    assert json.loads(stored) == payload


async def test_duplicate_delivery_is_acknowledged_and_processed_once(app_harness):
    from tests.support.pr_scenario import PullRequestScenario

    scenario = PullRequestScenario(app_harness.github)
    first = await app_harness.deliver("pull_request", scenario.event(), delivery_id="same")
    second = await app_harness.deliver("pull_request", scenario.event(), delivery_id="same")
    assert (first.status, second.status) == (202, 202)
    assert (await second.json())["status"] == "duplicate"
    assert await app_harness.drain() == 1
    assert len(scenario.published()) == 1


async def test_failed_processing_is_retried_not_lost(app_harness):
    from tests.support.pr_scenario import PullRequestScenario

    scenario = PullRequestScenario(app_harness.github)
    app_harness.github.route(
        "GET", f"{scenario.base}/commits", status=404, json={"message": "Not Found"}
    )
    await app_harness.deliver("pull_request", scenario.event(), delivery_id="flaky")
    await app_harness.drain()
    assert app_harness.services.inbox.status_of("flaky") == "failed"
    assert scenario.published() == []


async def test_health_readiness_and_metrics(app_harness):
    assert (await app_harness.client.get("/healthz")).status == 200
    ready = await app_harness.client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"store": True, "github_credentials": True}
    await app_harness.deliver("star", {})
    metrics = await (await app_harness.client.get("/metrics")).text()
    assert "countersign_webhooks_received_total" in metrics


async def test_status_page_when_configured(app_harness):
    page = await (await app_harness.client.get("/")).text()
    assert "ledger entries" in page
