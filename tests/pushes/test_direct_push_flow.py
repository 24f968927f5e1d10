"""End to end: direct pushes become violations with an issue, alerts and a revert PR;
pushes that a merged pull request explains do not, whichever event arrives first."""

from __future__ import annotations

import copy
import json

import httpx
import pytest

from github_app.actions.alerts import SIGNATURE_HEADER, signature
from github_app.pushes.classify import ZERO_SHA, push_from_payload
from github_app.pushes.report import revert_branch
from tests.pushes.push_payloads import AFTER, BEFORE, HUMAN_MESSAGE, push_payload
from tests.rulesets.helpers import REPO, REPO_ID, entries, serve_org_policy
from tests.support.fake_github import example
from tests.support.pr_scenario import PullRequestScenario

HOOK = "https://alerts.example.com/countersign"
SECRET_ENV = "COUNTERSIGN_ALERT_TEST_SECRET"
RESPONSE_POLICY = f"""
direct_push:
  revert_pr: true
alerts:
  webhooks:
    - url: {HOOK}
      secret_env: {SECRET_ENV}
"""


@pytest.fixture
def github(github, monkeypatch):
    """The fake GitHub with the routes every push needs, and an alert receiver."""
    monkeypatch.setenv(SECRET_ENV, "alert-secret")
    github.pulls_for_commit = github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    issue = example("issue")
    github.issues = github.route("POST", f"/repos/{REPO}/issues", status=201, json=issue)
    github.alerts = github.router.post(HOOK).mock(return_value=httpx.Response(204))
    return github


def serve_revert_routes(github) -> dict:
    routes = {
        "before": github.route(
            "GET", f"/repos/{REPO}/git/commits/{BEFORE}", json=example("git-commit")
        ),
        "commit": github.route(
            "POST",
            f"/repos/{REPO}/git/commits",
            status=201,
            json={**example("git-commit"), "sha": "9" * 40},
        ),
        "ref": github.route("POST", f"/repos/{REPO}/git/refs", status=201, json=example("git-ref")),
        "pull": github.route(
            "POST", f"/repos/{REPO}/pulls", status=201, json=example("pull-request")
        ),
    }
    return routes


async def test_agent_direct_push_is_a_violation_with_issue_alert_and_revert(app_harness):
    github = app_harness.github
    serve_org_policy(github, RESPONSE_POLICY)
    revert = serve_revert_routes(github)
    await app_harness.deliver_and_process("push", push_payload())

    commit_body = json.loads(revert["commit"].calls[0].content)
    assert commit_body["tree"] == example("git-commit")["tree"]["sha"]
    assert commit_body["parents"] == [AFTER]
    branch = revert_branch(push_from_payload(push_payload()))
    assert branch.startswith("countersign/revert-master-aaaaaaa")
    ref_body = json.loads(revert["ref"].calls[0].content)
    assert ref_body == {"ref": f"refs/heads/{branch}", "sha": "9" * 40}
    pull_body = json.loads(revert["pull"].calls[0].content)
    assert (pull_body["head"], pull_body["base"]) == (branch, "master")

    [issue] = [json.loads(r.content) for r in github.issues.calls]
    assert "agent-authored" in issue["title"] and AFTER in issue["body"]
    assert example("pull-request")["html_url"] in issue["body"]

    [violation] = entries(app_harness, "direct_push")
    assert (violation.repo, violation.repo_id, violation.head_sha) == (REPO, REPO_ID, AFTER)
    assert (violation.agent, violation.session_id, violation.launched_by) == (
        "claude-code",
        "sess-42",
        "octo-dev",
    )
    data = violation.data
    assert data["violation"] is True and data["agent_authored"] is True
    assert (data["before"], data["after"], data["pusher"]) == (BEFORE, AFTER, "Codertocat")
    assert data["issue_url"] == example("issue")["html_url"]
    assert data["revert_pr_url"] == example("pull-request")["html_url"]
    assert data["commits"][0]["agent"] == "claude-code"

    sent = github.alerts.calls.last.request
    assert sent.headers[SIGNATURE_HEADER] == signature("alert-secret", sent.content)
    assert json.loads(sent.content)["issue_url"] == data["issue_url"]
    [alert] = entries(app_harness, "alert")
    assert alert.data["ok"] is True and alert.data["issue_url"] == data["issue_url"]
    assert alert.data["revert_pr_url"] == data["revert_pr_url"]


async def test_the_same_push_seen_again_opens_nothing_new(app_harness):
    github = app_harness.github
    await app_harness.deliver_and_process("push", push_payload())
    await app_harness.deliver_and_process("push", push_payload())
    assert github.issues.call_count == 1
    assert len(entries(app_harness, "direct_push")) == 1


async def test_failed_alert_is_recorded_and_does_not_block(app_harness, monkeypatch):
    github = app_harness.github
    serve_org_policy(github, RESPONSE_POLICY.replace("revert_pr: true", "revert_pr: false"))
    github.alerts.mock(return_value=httpx.Response(500))
    monkeypatch.setattr("github_app.actions.alerts.BACKOFF_SECONDS", 0)
    await app_harness.deliver_and_process("push", push_payload())
    assert github.alerts.call_count == 3
    assert github.issues.call_count == 1
    [alert] = entries(app_harness, "alert")
    assert (alert.data["ok"], alert.data["status"], alert.data["attempts"]) == (False, 500, 3)
    assert entries(app_harness, "direct_push")[0].data["revert_pr_url"] is None


async def test_issues_disabled_still_records_the_push(app_harness):
    github = app_harness.github
    github.route(
        "POST",
        f"/repos/{REPO}/issues",
        status=410,
        json={"message": "Issues are disabled for this repo"},
    )
    await app_harness.deliver_and_process("push", push_payload())
    [violation] = entries(app_harness, "direct_push")
    assert violation.data["issue_url"] is None
    assert "issue" in violation.data["response_errors"]


async def test_human_direct_push_is_recorded_but_not_a_violation_by_default(app_harness):
    await app_harness.deliver_and_process("push", push_payload(message=HUMAN_MESSAGE))
    [push] = entries(app_harness, "direct_push")
    assert push.data["violation"] is False and push.agent is None
    assert app_harness.github.issues.call_count == 0
    assert entries(app_harness, "alert") == []


async def test_human_direct_push_counts_when_policy_says_so(app_harness):
    serve_org_policy(app_harness.github, "direct_push:\n  count_human_pushes: true\n")
    await app_harness.deliver_and_process("push", push_payload(message=HUMAN_MESSAGE))
    assert entries(app_harness, "direct_push")[0].data["violation"] is True
    assert app_harness.github.issues.call_count == 1


async def test_pushes_to_unprotected_branches_and_tags_are_ignored(app_harness):
    await app_harness.deliver_and_process("push", push_payload(ref="refs/heads/feature/x"))
    await app_harness.deliver_and_process("push", push_payload(ref="refs/tags/v1"))
    assert app_harness.github.pulls_for_commit.call_count == 0
    assert entries(app_harness, "direct_push") == []


def merged(scenario: PullRequestScenario) -> dict:
    event = copy.deepcopy(scenario.event("closed"))
    pr = event["pull_request"]
    pr.update(
        state="closed",
        merged=True,
        merged_at="2026-11-20T12:00:00Z",
        merge_commit_sha=AFTER,
        merged_by=pr["user"],
    )
    return event


@pytest.mark.parametrize("push_first", [True, False], ids=["push-first", "merge-first"])
async def test_push_from_a_merged_pr_is_not_a_direct_push(app_harness, push_first):
    github = app_harness.github
    scenario = PullRequestScenario(github)
    closed = merged(scenario)
    pulls_for_commit = github.route(
        "GET", f"/repos/{REPO}/commits/{AFTER}/pulls", json=[closed["pull_request"]]
    )
    deliveries = [("push", push_payload()), ("pull_request", closed)]
    for event, payload in deliveries if push_first else reversed(deliveries):
        await app_harness.deliver_and_process(event, payload)
    assert pulls_for_commit.call_count == 1
    assert entries(app_harness, "direct_push") == []
    assert github.issues.call_count == 0
    assert [e.kind for e in entries(app_harness, "merge")] == ["merge"]


def serve_existing_revert_branch(github, points_at: str) -> tuple:
    """The revert branch already exists (422 on create) and points at ``points_at``."""
    branch = revert_branch(push_from_payload(push_payload()))
    github.route(
        "POST",
        f"/repos/{REPO}/git/refs",
        status=422,
        json={"message": "Reference already exists", "documentation_url": "fake"},
    )
    existing = {**example("git-ref"), "ref": f"refs/heads/{branch}"}
    existing["object"] = {**existing["object"], "sha": points_at}
    read = github.route("GET", f"/repos/{REPO}/git/ref/heads/{branch}", json=existing)
    moved = {**existing, "object": {**existing["object"], "sha": "9" * 40}}
    update = github.route("PATCH", f"/repos/{REPO}/git/refs/heads/{branch}", json=moved)
    return read, update


async def test_a_precreated_revert_branch_is_forced_to_the_computed_revert(app_harness):
    github = app_harness.github
    serve_org_policy(github, RESPONSE_POLICY)
    revert = serve_revert_routes(github)
    read, update = serve_existing_revert_branch(github, points_at="e" * 40)
    await app_harness.deliver_and_process("push", push_payload())
    assert read.call_count == 1
    assert json.loads(update.calls[0].content) == {"sha": "9" * 40, "force": True}
    assert revert["pull"].call_count == 1
    [violation] = entries(app_harness, "direct_push")
    assert violation.data["revert_pr_url"] == example("pull-request")["html_url"]


async def test_a_revert_branch_already_at_the_computed_revert_is_left_alone(app_harness):
    github = app_harness.github
    serve_org_policy(github, RESPONSE_POLICY)
    revert = serve_revert_routes(github)
    read, update = serve_existing_revert_branch(github, points_at="9" * 40)
    await app_harness.deliver_and_process("push", push_payload())
    assert (read.call_count, update.call_count) == (1, 0)
    assert revert["pull"].call_count == 1


async def test_a_commit_merged_into_another_branch_does_not_excuse_a_push(app_harness):
    github = app_harness.github
    into_dev = example("pull-request")
    into_dev.update(merged_at="2026-11-20T12:00:00Z", merge_commit_sha=AFTER)
    into_dev["base"]["ref"] = "dev"
    github.route("GET", f"/repos/{REPO}/commits/{AFTER}/pulls", json=[into_dev])
    await app_harness.deliver_and_process("push", push_payload())
    [violation] = entries(app_harness, "direct_push")
    assert violation.data["violation"] is True and violation.data["branch"] == "master"
    assert github.issues.call_count == 1


def deletion(branch: str, before: str) -> dict:
    payload = push_payload(ref=f"refs/heads/{branch}", before=before, after=ZERO_SHA, commits=[])
    payload["deleted"] = True
    return payload


async def test_every_protected_branch_deletion_is_recorded(app_harness):
    await app_harness.deliver_and_process("push", deletion("release/1", BEFORE))
    await app_harness.deliver_and_process("push", deletion("release/2", "c" * 40))
    recorded = entries(app_harness, "direct_push")
    assert [(e.data["branch"], e.data["deleted"]) for e in recorded] == [
        ("release/1", True),
        ("release/2", True),
    ]


async def test_the_same_head_pushed_to_two_branches_is_two_incidents(app_harness):
    github = app_harness.github
    await app_harness.deliver_and_process("push", push_payload())
    await app_harness.deliver_and_process("push", push_payload(ref="refs/heads/release/1"))
    recorded = entries(app_harness, "direct_push")
    assert [e.data["branch"] for e in recorded] == ["master", "release/1"]
    assert github.issues.call_count == 2


async def test_unreadable_policy_records_pushes_to_any_branch(app_harness):
    github = app_harness.github
    github.serve_repository_head("Codertocat/.github")
    github.route(
        "GET",
        "/repos/Codertocat/.github/contents/countersign.yml",
        status=403,
        json={"message": "Resource not accessible by integration", "documentation_url": "x"},
    )
    await app_harness.deliver_and_process("push", push_payload(ref="refs/heads/deploy/prod"))
    await app_harness.deliver_and_process(
        "push", push_payload(ref="refs/heads/deploy/qa", message=HUMAN_MESSAGE)
    )
    agent, human = entries(app_harness, "direct_push")
    assert "could not read the policy" in agent.data["policy_error"]
    assert agent.data["violation"] is True and agent.data["branch"] == "deploy/prod"
    assert human.data["policy_error"] and human.data["violation"] is False
    [issue] = [json.loads(r.content) for r in github.issues.calls]
    assert "could not read the policy" in issue["body"]
