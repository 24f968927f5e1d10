"""End to end: signed deliveries in, check runs and ledger entries out.

Every request the App sends is validated against GitHub's OpenAPI description by the ``github``
fixture; a test fails if the App sends one GitHub would reject.
"""

from __future__ import annotations

import time

from tests.support.pr_scenario import (
    HUMAN,
    REVIEWER,
    PullRequestScenario,
    api_commit,
    file_entries,
)

NEW_HEAD = "1111111111111111111111111111111111111111"


async def open_pr(harness, scenario: PullRequestScenario) -> dict:
    await harness.deliver_and_process("pull_request", scenario.event("opened"))
    return scenario.published()[-1]


async def test_agent_pr_waits_for_a_human_and_says_why(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    check = await open_pr(app_harness, scenario)
    assert check["name"] == "countersign"
    assert check["head_sha"] == scenario.head_sha
    assert check["conclusion"] == "action_required"
    text = check["output"]["text"]
    assert "claude-code" in text and "sess-42" in text and "@octo-dev" in text
    assert app_harness.ledger_kinds() == ["agent_change_detected", "decision"]
    entry = next(iter(app_harness.services.ledger.entries(kinds=["agent_change_detected"])))
    assert (entry.session_id, entry.agent, entry.launched_by) == (
        "sess-42",
        "claude-code",
        "octo-dev",
    )


async def test_qualifying_approval_on_the_head_makes_it_pass(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    await open_pr(app_harness, scenario)
    scenario.permissions["senior-reviewer"] = "write"
    review = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([review])
    await app_harness.deliver_and_process("pull_request_review", scenario.review_event(review))
    assert scenario.last_conclusion() == "success"
    assert len(scenario.check_runs.calls) == 1, "the same head SHA keeps one check run"
    approval = next(iter(app_harness.services.ledger.entries(kinds=["approval"])))
    assert approval.data["counted"] is True
    assert approval.data["approved_sha"] == scenario.head_sha


async def test_launching_developer_cannot_countersign(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["octo-dev"] = "admin"
    review = scenario.review(HUMAN, "APPROVED")
    scenario.set_reviews([review])
    await open_pr(app_harness, scenario)
    await app_harness.deliver_and_process("pull_request_review", scenario.review_event(review))
    assert scenario.last_conclusion() == "action_required"
    approval = next(iter(app_harness.services.ledger.entries(kinds=["approval"])))
    assert approval.data["counted"] is False
    assert "launch" in approval.data["reason"] or "author" in approval.data["reason"]


async def test_human_pr_passes_without_agent_evidence(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_commits([api_commit(scenario.head_sha, "Fix typo in README")])
    check = await open_pr(app_harness, scenario)
    assert check["conclusion"] == "success"
    assert app_harness.ledger_kinds() == ["decision"]


async def test_push_after_approval_invalidates_it(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    review = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([review])
    await open_pr(app_harness, scenario)
    assert scenario.last_conclusion() == "success"

    scenario.payload["pull_request"]["head"]["sha"] = NEW_HEAD
    scenario.set_commits(
        [
            api_commit(review["commit_id"], "x"),
            api_commit(
                NEW_HEAD,
                "more\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nAgent-Session-Id: sess-42",
            ),
        ]
    )
    await app_harness.deliver_and_process("pull_request", scenario.event("synchronize"))
    latest = scenario.published()[-1]
    assert latest["head_sha"] == NEW_HEAD
    assert latest["conclusion"] == "action_required"
    assert "older commit" in latest["output"]["text"]
    invalidated = next(iter(app_harness.services.ledger.entries(kinds=["approval_invalidated"])))
    assert invalidated.data["approvers"] == ["senior-reviewer"]


async def test_unreadable_policy_fails_closed_with_the_error(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.set_policy("approvals:\n  required: [oops\n")
    check = await open_pr(app_harness, scenario)
    assert check["conclusion"] == "failure"
    assert "countersign.yml" in check["output"]["summary"]
    assert "policy_invalid" in app_harness.ledger_kinds()


async def test_repo_policy_is_read_from_the_base_branch(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    await open_pr(app_harness, scenario)
    [request] = app_harness.github.requests("GET", f"/repos/{scenario.repo}/contents/{{+path}}")
    assert request.url.params["ref"] == scenario.payload["pull_request"]["base"]["sha"]


async def test_merge_records_the_approval_snapshot(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    await open_pr(app_harness, scenario)
    closed = scenario.merged_event("2" * 40, REVIEWER)
    await app_harness.deliver_and_process("pull_request", closed)
    merge = next(iter(app_harness.services.ledger.entries(kinds=["merge"])))
    assert merge.data["approvers"] == ["senior-reviewer"]
    assert merge.data["approved_sha"] == scenario.head_sha
    assert merge.data["merge_sha"] == "2" * 40
    assert merge.data["merged_by"] == "senior-reviewer"
    assert "unapproved_merge" not in app_harness.ledger_kinds()


async def test_merge_without_countersignature_is_an_exception(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    await open_pr(app_harness, scenario)
    closed = scenario.merged_event("3" * 40, HUMAN)
    await app_harness.deliver_and_process("pull_request", closed)
    assert app_harness.ledger_kinds()[-2:] == ["merge", "unapproved_merge"]


async def test_github_502_then_success_is_retried(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    route = app_harness.github.route(
        "GET", f"{scenario.base}/files", status=502, json={"message": "Bad Gateway"}
    )
    route.then(json=file_entries(["src/importer.py"]))
    check = await open_pr(app_harness, scenario)
    assert route.call_count == 2
    assert check["conclusion"] == "action_required"


async def test_rate_limit_403_with_reset_is_waited_out(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    reset = str(int(time.time()) + 2)
    route = app_harness.github.route(
        "GET",
        f"{scenario.base}/reviews",
        status=403,
        json={"message": "API rate limit exceeded"},
        headers={
            "x-ratelimit-remaining": "0",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-reset": reset,
        },
    )
    route.then(json=[])
    check = await open_pr(app_harness, scenario)
    assert route.call_count == 2
    assert check["conclusion"] == "action_required"


async def test_rerequested_check_run_reevaluates(app_harness):
    from tests.support.webhooks import load_payload

    scenario = PullRequestScenario(app_harness.github)
    await open_pr(app_harness, scenario)
    app_harness.github.route("GET", scenario.base, json=scenario.payload["pull_request"])
    event = load_payload("check_run", "rerequested.payload")
    event["repository"] = scenario.payload["repository"]
    event["check_run"]["name"] = "countersign"
    event["check_run"]["pull_requests"] = [
        {"number": scenario.number, "id": 1, "url": "u", "head": {}, "base": {}}
    ]
    await app_harness.deliver_and_process("check_run", event)
    assert len(scenario.published()) == 2


async def test_pr_into_an_unprotected_branch_needs_no_countersignature(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.payload["pull_request"]["base"]["ref"] = "feature/experiments"
    check = await open_pr(app_harness, scenario)
    assert check["conclusion"] == "success"
    assert "not a protected branch" in check["output"]["summary"]


async def test_merge_into_an_unprotected_branch_is_not_a_change_of_record(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.payload["pull_request"]["base"]["ref"] = "feature/experiments"
    closed = scenario.merged_event("5" * 40, HUMAN)
    await app_harness.deliver_and_process("pull_request", closed)
    assert "merge" not in app_harness.ledger_kinds()
    assert "unapproved_merge" not in app_harness.ledger_kinds()


async def test_a_pr_larger_than_github_lists_fails_closed(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    scenario.payload["pull_request"]["changed_files"] = 3001  # GitHub lists at most 3000
    check = await open_pr(app_harness, scenario)
    assert check["conclusion"] == "failure"
    assert "1 of the pull request's 3001 files" in check["output"]["summary"]


async def test_a_rate_limited_policy_read_is_retried_later_not_judged(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    reset = str(int(time.time()) + 3600)  # longer than the client waits: it gives up now
    app_harness.github.route(
        "GET",
        f"/repos/{scenario.repo}/contents/{{+path}}",
        status=403,
        json={"message": "API rate limit exceeded"},
        headers={
            "x-ratelimit-remaining": "0",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-reset": reset,
        },
    )
    await app_harness.deliver("pull_request", scenario.event("opened"), delivery_id="limited")
    await app_harness.drain()
    assert app_harness.services.inbox.status_of("limited") == "failed", "kept for a retry"
    assert scenario.published() == []
    assert "policy_invalid" not in app_harness.ledger_kinds()


async def test_a_merged_pr_is_judged_by_the_policy_before_its_merge(app_harness):
    scenario = PullRequestScenario(app_harness.github)
    closed = scenario.merged_event("6" * 40, HUMAN)
    await app_harness.deliver_and_process("pull_request", closed)
    [request] = app_harness.github.requests("GET", f"/repos/{scenario.repo}/contents/{{+path}}")
    assert request.url.params["ref"] == closed["pull_request"]["base"]["sha"]
