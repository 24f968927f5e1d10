"""Merge queue end to end: ``merge_group`` deliveries in, a check run on the group head out.

The group's PRs come from the fake's GraphQL endpoint (validated against GitHub's schema for
the merge queue), their decisions from earlier ``pull_request`` deliveries.
"""

from __future__ import annotations

import copy
import json

from tests.pushes.push_payloads import push_payload
from tests.support.pr_scenario import REVIEWER, PullRequestScenario
from tests.support.webhooks import load_payload

BASE = "0" * 39 + "1"
GROUP_A = "a1" * 20  # the queue's commit for PR A alone
GROUP_AB = "b2" * 20  # ... for PR A and PR B
HEAD_B = "3" * 40


def entry(position: int, scenario: PullRequestScenario, head: str, base: str) -> dict:
    """A ``MergeQueueEntry`` node as GitHub's GraphQL API returns it."""
    return {
        "position": position,
        "state": "AWAITING_CHECKS",
        "headCommit": {"oid": head},
        "baseCommit": {"oid": base},
        "pullRequest": {"number": scenario.number, "headRefOid": scenario.head_sha},
    }


def group_event(scenario: PullRequestScenario, head_sha: str, action: str = "checks_requested"):
    """The real ``merge_group`` payload, moved to the scenario's repository."""
    body = load_payload("merge_group", "checks_requested")
    body["action"] = action
    body["repository"] = copy.deepcopy(scenario.payload["repository"])
    body["installation"] = scenario.payload["installation"]
    body["merge_group"].update(
        head_sha=head_sha,
        base_sha=BASE,
        base_ref="refs/heads/master",
        head_ref=f"refs/heads/gh-readonly-queue/master/pr-{scenario.number}-{BASE}",
    )
    if action == "destroyed":
        body["reason"] = "merged"
    return body


def check_runs_on(github, repo: str, sha: str) -> list[dict]:
    sent = [json.loads(r.content) for r in github.requests("POST", f"/repos/{repo}/check-runs")]
    return [body for body in sent if body["head_sha"] == sha]


async def two_queued_prs(harness):
    """PR A countersigned, PR B waiting for a human; both in the queue behind each other."""
    github = harness.github
    pr_a = PullRequestScenario(github)
    pr_a.permissions["senior-reviewer"] = "write"
    review = pr_a.review(REVIEWER, "APPROVED")
    pr_a.set_reviews([review])
    await harness.deliver_and_process("pull_request", pr_a.event("opened"))
    pr_b = PullRequestScenario(github, head_sha=HEAD_B, number=3)
    pr_b.permissions = pr_a.permissions  # the latest scenario answers permission lookups
    await harness.deliver_and_process("pull_request", pr_b.event("opened"))
    github.merge_queues[(pr_a.repo, "master")] = [
        entry(1, pr_a, GROUP_A, BASE),
        entry(2, pr_b, GROUP_AB, GROUP_A),
    ]
    return pr_a, pr_b


async def test_group_fails_naming_the_pr_without_a_countersignature(app_harness):
    pr_a, pr_b = await two_queued_prs(app_harness)
    await app_harness.deliver_and_process("merge_group", group_event(pr_b, GROUP_AB))
    (check,) = check_runs_on(app_harness.github, pr_a.repo, GROUP_AB)
    assert check["name"] == "countersign"
    assert check["conclusion"] == "failure"
    assert "#3" in check["output"]["title"] and "#2" not in check["output"]["title"]
    assert "#2" in check["output"]["summary"]  # the verdict covers every PR of the group
    assert "https://github.test/Codertocat/Hello-World/pull/3" in check["output"]["text"]
    (recorded,) = app_harness.services.ledger.entries(kinds=["merge_group"])
    assert recorded.head_sha == GROUP_AB
    assert recorded.data["prs"] == [2, 3]
    assert recorded.data["conclusion"] == "failure"
    assert [item["pr"] for item in recorded.data["lacking"]] == [3]
    query = json.loads(app_harness.github.requests("POST", "^/api/graphql$")[0].content)
    assert query["variables"] == {"owner": "Codertocat", "name": "Hello-World", "branch": "master"}


async def test_group_of_countersigned_prs_passes(app_harness):
    pr_a, _ = await two_queued_prs(app_harness)
    await app_harness.deliver_and_process("merge_group", group_event(pr_a, GROUP_A))
    (check,) = check_runs_on(app_harness.github, pr_a.repo, GROUP_A)
    assert check["conclusion"] == "success"
    assert check["output"]["title"] == "Merge group countersigned (#2)"


async def test_group_the_queue_does_not_list_fails_closed(app_harness):
    pr_a, _ = await two_queued_prs(app_harness)
    await app_harness.deliver_and_process("merge_group", group_event(pr_a, "c" * 40))
    (check,) = check_runs_on(app_harness.github, pr_a.repo, "c" * 40)
    assert check["conclusion"] == "failure"
    assert "contents unknown" in check["output"]["title"]


async def test_pr_pushed_after_its_decision_fails_the_group(app_harness):
    pr_a, _ = await two_queued_prs(app_harness)
    queue = app_harness.github.merge_queues[(pr_a.repo, "master")]
    queue[0]["pullRequest"]["headRefOid"] = "9" * 40  # queued with a head nobody judged
    await app_harness.deliver_and_process("merge_group", group_event(pr_a, GROUP_A))
    (check,) = check_runs_on(app_harness.github, pr_a.repo, GROUP_A)
    assert check["conclusion"] == "failure"
    assert "queued at 9999999" in check["output"]["summary"]


async def test_group_head_push_is_a_merge_and_each_pr_keeps_its_approvals(app_harness):
    pr_a, _ = await two_queued_prs(app_harness)
    await app_harness.deliver_and_process("merge_group", group_event(pr_a, GROUP_A))
    push = push_payload(before=BASE, after=GROUP_A, sender="octo-dev")
    push["installation"] = pr_a.payload["installation"]
    await app_harness.deliver_and_process("push", push)
    assert "direct_push" not in app_harness.ledger_kinds()
    assert not app_harness.github.requests("POST", "/repos/{o}/{r}/issues")
    merged = pr_a.merged_event(GROUP_A, REVIEWER)
    await app_harness.deliver_and_process("pull_request", merged)
    (merge,) = app_harness.services.ledger.entries(kinds=["merge"])
    assert merge.pr == 2 and merge.data["approvers"] == ["senior-reviewer"]
    assert merge.data["merge_sha"] == GROUP_A
    await app_harness.deliver_and_process("merge_group", group_event(pr_a, GROUP_A, "destroyed"))
    destroyed = list(app_harness.services.ledger.entries(kinds=["merge_group"]))[-1]
    assert destroyed.data["action"] == "destroyed" and destroyed.data["reason"] == "merged"
    assert destroyed.data["prs"] == [2]


async def test_push_of_an_unknown_commit_is_still_a_direct_push(app_harness):
    pr_a, _ = await two_queued_prs(app_harness)
    push = push_payload(before=BASE, after="d" * 40, sender="octo-dev")
    push["installation"] = pr_a.payload["installation"]
    app_harness.github.route("GET", "/repos/{o}/{r}/commits/{sha}/pulls", json=[])
    app_harness.github.route(
        "POST",
        "/repos/{o}/{r}/issues",
        status=201,
        json=_issue(),
    )
    await app_harness.deliver_and_process("push", push)
    assert "direct_push" in app_harness.ledger_kinds()


def _issue() -> dict:
    from tests.support.fake_github import example

    return example("issue")
