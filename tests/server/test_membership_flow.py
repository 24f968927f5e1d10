"""People and teams changing: ``membership``, ``member``, ``organization`` and ``team`` events
re-judge the open agent PRs whose approvals depend on them (real payloads, signed deliveries)."""

from __future__ import annotations

import copy

from tests.support.fake_github import example
from tests.support.pr_scenario import REVIEWER, PullRequestScenario
from tests.support.webhooks import load_payload

TEAM_POLICY = "approvals:\n  teams: [octocoders/github]\n"


async def countersigned_pr(harness) -> PullRequestScenario:
    """An agent PR approved by a member of the policy's approver team; GitHub serves it."""
    scenario = PullRequestScenario(harness.github)
    scenario.set_policy(TEAM_POLICY)
    scenario.permissions["senior-reviewer"] = "write"
    scenario.teams["octocoders/github"] = {"senior-reviewer"}
    review = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([review])
    await harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert scenario.last_conclusion() == "success"
    pull = copy.deepcopy(scenario.payload["pull_request"])
    harness.github.route("GET", scenario.base, json=pull)
    repos = example("repository-paginated")
    repos["repositories"][0].update(
        id=scenario.payload["repository"]["id"], full_name=scenario.repo
    )
    harness.github.route("GET", "/installation/repositories", json=repos)
    return scenario


def with_installation(body: dict, scenario: PullRequestScenario) -> dict:
    body["installation"] = scenario.payload["installation"]
    return body


async def test_approver_removed_from_the_team_no_longer_counts(app_harness):
    scenario = await countersigned_pr(app_harness)
    scenario.teams["octocoders/github"] = set()
    body = with_installation(load_payload("membership", "removed"), scenario)
    body["member"]["login"] = "senior-reviewer"
    await app_harness.deliver_and_process("membership", body)
    assert scenario.last_conclusion() == "action_required"
    text = scenario.published()[-1]["output"]["text"]
    assert "octocoders/github" in text


async def test_a_team_change_of_someone_who_did_not_review_changes_nothing(app_harness):
    scenario = await countersigned_pr(app_harness)
    published = len(scenario.published())
    files_read = len(app_harness.github.requests("GET", scenario.base + "/files"))
    body = with_installation(load_payload("membership", "added"), scenario)
    body["member"]["login"] = "bystander"
    await app_harness.deliver_and_process("membership", body)
    assert len(scenario.published()) == published
    assert len(app_harness.github.requests("GET", scenario.base + "/files")) == files_read


async def test_collaborator_permission_lowered_is_judged_again(app_harness):
    scenario = await countersigned_pr(app_harness)
    scenario.permissions["senior-reviewer"] = "read"
    body = with_installation(load_payload("member", "edited"), scenario)
    body["member"]["login"] = "senior-reviewer"
    body["repository"] = copy.deepcopy(scenario.payload["repository"])
    await app_harness.deliver_and_process("member", body)
    assert scenario.last_conclusion() == "action_required"


async def test_org_member_removed_is_judged_again(app_harness):
    scenario = await countersigned_pr(app_harness)
    scenario.teams["octocoders/github"] = set()
    body = with_installation(load_payload("membership", "removed"), scenario)
    org_event = {
        "action": "member_removed",
        "membership": {
            "url": "u",
            "state": "active",
            "role": "member",
            "organization_url": "u",
            "user": {**body["member"], "login": "senior-reviewer"},
        },
        "organization": body["organization"],
        "sender": body["sender"],
        "installation": body["installation"],
    }
    await app_harness.deliver_and_process("organization", org_event)
    assert scenario.last_conclusion() == "action_required"


async def test_team_edited_rejudges_every_open_agent_pr(app_harness):
    scenario = await countersigned_pr(app_harness)
    scenario.teams["octocoders/github"] = set()
    body = load_payload("team", "edited")
    await app_harness.deliver_and_process("team", body)
    assert scenario.last_conclusion() == "action_required"


async def test_closed_prs_are_left_alone(app_harness):
    scenario = await countersigned_pr(app_harness)
    closed = copy.deepcopy(scenario.payload["pull_request"])
    closed["state"] = "closed"
    app_harness.github.route("GET", scenario.base, json=closed)
    published = len(scenario.published())
    await app_harness.deliver_and_process("team", load_payload("team", "edited"))
    assert len(scenario.published()) == published
