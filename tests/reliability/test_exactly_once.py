"""Exactly once, in order, through signed deliveries into the App and the strict fake GitHub.

A retried delivery never goes backwards, a lost create never makes a second check run, a failing
checkpoint never duplicates evidence, and concurrent work on one PR writes each effect once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from github_app.core import github_json
from github_app.handlers.pipeline import reevaluate
from github_app.store import tables
from tests.rulesets.helpers import installation_context
from tests.support.pr_scenario import HUMAN, PullRequestScenario, agent_commit

H1, H2 = "1" * 40, "2" * 40
BAD_GATEWAY = httpx.Response(502, json={"message": "Bad Gateway"})


def make_due(harness, delivery_id: str) -> None:
    """Let time pass: the delivery's retry is due now."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    table = tables.webhook_deliveries
    with harness.services.db.transaction() as conn:
        conn.execute(
            table.update()
            .where(table.c.delivery_id == delivery_id)
            .values(next_attempt_at=past, locked_until=past)
        )


def status_of(harness, delivery_id: str) -> str | None:
    return harness.services.inbox.status_of(delivery_id)


def heads_of(harness, *kinds: str) -> list[str | None]:
    return [entry.head_sha for entry in harness.services.ledger.entries(kinds=list(kinds))]


def push(scenario: PullRequestScenario, head: str, updated_at: str) -> None:
    """The PR moves to ``head`` (what GitHub then serves, and the next payload says)."""
    pr = scenario.payload["pull_request"]
    pr["head"]["sha"] = head
    pr["updated_at"] = updated_at
    scenario.set_commits([agent_commit(H1), agent_commit(head)])


async def test_a_502_on_opened_then_synchronize_never_writes_the_old_head_last(app_harness):
    """The issue's reproduction: one 502 on the opened delivery's check run call."""
    scenario = PullRequestScenario(app_harness.github, head_sha=H1)
    scenario.payload["pull_request"]["updated_at"] = "2026-11-20T10:00:00Z"
    create = scenario.check_runs.handlers[0]
    outage = [True]  # until the push: however often the worker retries meanwhile

    def bad_gateway_first(request: httpx.Request) -> httpx.Response:
        return BAD_GATEWAY if outage[0] else create(request)

    scenario.check_runs.handlers[0] = bad_gateway_first
    await app_harness.deliver("pull_request", scenario.event("opened"), delivery_id="opened")
    await app_harness.drain()
    assert status_of(app_harness, "opened") == "failed"
    outage[0] = False

    push(scenario, H2, "2026-11-20T10:05:00Z")
    await app_harness.deliver_and_process("pull_request", scenario.event("synchronize"))
    make_due(app_harness, "opened")
    await app_harness.drain()  # the retry of the old delivery
    assert status_of(app_harness, "opened") == "done"

    heads = heads_of(app_harness, "agent_change_detected", "decision")
    assert heads[-1] == H2 and H1 not in heads[heads.index(H2) :], f"went backwards: {heads}"
    assert heads.count(H2) == 2, "one agent_change_detected and one decision for H2"
    assert (
        app_harness.services.decisions.get(scenario.payload["repository"]["id"], 2).head_sha == H2
    )
    assert [run["conclusion"] for run in scenario.runs_on(H2)] == ["action_required"]
    assert len(scenario.runs_on(H1)) <= 1, "never a second run on a commit"


async def test_a_create_whose_answer_was_lost_is_adopted_not_repeated(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    create = scenario.check_runs.handlers[0]

    def created_then_502(request: httpx.Request) -> httpx.Response:
        create(request)  # GitHub made the run, but the answer never arrived
        return BAD_GATEWAY

    scenario.check_runs.handlers.insert(0, created_then_502)
    await app_harness.deliver("pull_request", scenario.event("opened"), delivery_id="opened")
    await app_harness.drain()
    make_due(app_harness, "opened")
    await app_harness.drain()

    assert status_of(app_harness, "opened") == "done"
    assert scenario.check_runs.call_count == 1, "the retry looked the run up instead"
    assert [run["conclusion"] for run in scenario.runs_on(scenario.head_sha)] == ["action_required"]


async def test_a_failing_checkpoint_never_makes_a_retry_append_again(app_harness):
    """Security finding #7: a signer that raises, then a retry: one ``merge`` entry."""

    class BrokenSigner:
        def sign(self, **_fields):
            raise RuntimeError("signing key does not match the stored checkpoints")

    ledger = app_harness.services.ledger
    scenario = PullRequestScenario(app_harness.github)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    ledger._signer, ledger._every = BrokenSigner(), 1
    closed = scenario.merged_event("3" * 40, HUMAN)
    await app_harness.deliver("pull_request", closed, delivery_id="merged")
    await app_harness.drain()
    assert status_of(app_harness, "merged") == "done", "a checkpoint failure is not a delivery's"

    # Processed again anyway (a lease that ran out, a replica that died after the append).
    table = tables.webhook_deliveries
    with app_harness.services.db.transaction() as conn:
        conn.execute(table.update().where(table.c.delivery_id == "merged").values(status="failed"))
    make_due(app_harness, "merged")
    await app_harness.drain()
    assert app_harness.ledger_kinds().count("merge") == 1
    assert app_harness.ledger_kinds().count("unapproved_merge") == 1


async def test_concurrent_work_on_one_pr_writes_each_effect_once(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    ctx = await installation_context(app_harness)
    payload = scenario.payload
    pr = github_json.pull_request(payload["pull_request"], payload["repository"])
    seen = github_json.parse_time(payload["pull_request"]["updated_at"])
    await asyncio.gather(*(reevaluate(ctx, pr, seen, seen_at=seen) for _ in range(4)))
    assert app_harness.ledger_kinds() == ["agent_change_detected", "decision"]
    assert scenario.check_runs.call_count == 1
    assert len(scenario.runs_on(pr.head_sha)) == 1


async def test_a_duplicate_delivery_of_an_old_head_reads_the_pull_request_again(app_harness):
    scenario = PullRequestScenario(app_harness.github, head_sha=H1)
    scenario.payload["pull_request"]["updated_at"] = "2026-11-20T10:00:00Z"
    old_opened = scenario.event("opened")
    await app_harness.deliver_and_process("pull_request", old_opened)
    push(scenario, H2, "2026-11-20T10:05:00Z")
    await app_harness.deliver_and_process("pull_request", scenario.event("synchronize"))
    before = app_harness.ledger_kinds()
    # The same old facts arrive once more (e.g. an "edited" sent before the push, delayed).
    old_opened["action"] = "edited"
    await app_harness.deliver_and_process("pull_request", old_opened)
    assert app_harness.ledger_kinds() == before
    assert scenario.pull.call_count == 1, "the current pull request was read instead"
