"""Finding 8: "too large to judge" was forgotten by events whose payloads lack the counts.

GitHub lists at most 250 commits of a pull request.  On ``opened`` the payload's ``commits``
count exposed the shortfall and the check failed closed; a review event or the sweep (whose PR
objects carry no counts) then judged the 250 listed commits alone and turned the PR green.  The
counts are now read from the PR itself (``GET /pulls/{n}``) when the event lacks them, and a PR
whose counts stay unknown fails closed.
"""

from __future__ import annotations

import copy

from github_app.jobs.sweep import sweep_repository
from github_app.pushes.classify import PUSH_COMMIT_LIMIT
from github_app.rulesets.sync import Repository
from tests.pushes.push_payloads import HUMAN_MESSAGE, push_commit, push_payload
from tests.rulesets.helpers import REPO, entries, installation_context
from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario, agent_commit

LISTED, ACTUAL = 250, 300


def too_large(app_harness) -> PullRequestScenario:
    scenario = PullRequestScenario(app_harness.github)
    commits = [agent_commit(f"{index:040x}") for index in range(LISTED - 1)]
    scenario.set_commits([*commits, agent_commit(scenario.head_sha)])
    scenario.payload["pull_request"]["commits"] = ACTUAL  # GitHub's count; the listing stops
    scenario.permissions[REVIEWER["login"]] = "write"
    scenario.set_reviews([scenario.review(REVIEWER, "APPROVED")])
    return scenario


def without_counts(pull_request: dict) -> dict:
    """A PR object as review events and the pulls listing carry it: no commit or file counts."""
    stripped = copy.deepcopy(pull_request)
    for key in ("commits", "changed_files", "additions", "deletions"):
        stripped.pop(key, None)
    return stripped


async def test_a_review_cannot_turn_a_too_large_pr_green(app_harness):
    scenario = too_large(app_harness)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "failure"

    event = scenario.review_event(scenario.review(REVIEWER, "APPROVED"))
    event["pull_request"] = without_counts(event["pull_request"])
    await app_harness.deliver_and_process("pull_request_review", event)
    assert scenario.last_conclusion() == "failure"
    assert "Too large to judge" in scenario.published()[-1]["output"]["title"]
    [approval] = app_harness.services.ledger.entries(kinds=["approval"])
    assert approval.data["counted"] is False


async def test_the_sweep_cannot_turn_a_too_large_pr_green(app_harness):
    scenario = too_large(app_harness)
    listed = without_counts(scenario.payload["pull_request"])
    app_harness.github.route("GET", f"/repos/{scenario.repo}/pulls", json=[listed])
    repo_json = scenario.payload["repository"]
    ctx = await installation_context(app_harness)
    assert await sweep_repository(ctx, Repository(repo_json["full_name"], repo_json["id"])) == 1
    assert scenario.last_conclusion() == "failure"


async def test_counts_github_does_not_give_fail_closed(app_harness):
    scenario = too_large(app_harness)
    app_harness.github.route(
        "GET", scenario.base, json=without_counts(scenario.payload["pull_request"])
    )
    event = scenario.review_event(scenario.review(REVIEWER, "APPROVED"))
    event["pull_request"] = without_counts(event["pull_request"])
    await app_harness.deliver_and_process("pull_request_review", event)
    assert scenario.last_conclusion() == "failure"
    assert "did not say how many" in scenario.published()[-1]["output"]["summary"]


async def test_a_direct_push_longer_than_github_lists_is_a_violation(app_harness):
    # The same mistake on pushes: the payload lists at most 2048 commits, so a human-looking
    # listing of that length may hide agent commits; it fails closed like a too-large PR.
    github = app_harness.github
    github.route("GET", f"/repos/{REPO}/commits/{{sha}}/pulls", json=[])
    github.route("POST", f"/repos/{REPO}/issues", status=201, json=example("issue"))
    commits = [push_commit(f"{index:040x}", HUMAN_MESSAGE) for index in range(PUSH_COMMIT_LIMIT)]
    await app_harness.deliver_and_process(
        "push", push_payload(after=commits[-1]["id"], commits=commits)
    )
    [push] = entries(app_harness, "direct_push")
    assert push.data["agent_authored"] is False
    assert push.data["commits_truncated"] is True and push.data["violation"] is True
